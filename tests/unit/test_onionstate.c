/*
 * test_onionstate.c: the state file of detached services' owners
 * (src/onionstate.c, src/onionstate_file.c).
 */
#include "tg_check.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onionstate.h"

#define SID56 "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx"

/* Files that parse, with what they hold. */
static const struct {
	const char *text;
	const char *tor;
	size_t n;
	const char *sid0, *profile0;
} good[] = {
	{ "torgate-onions 1\ntor t\nend\n", "t", 0, NULL, NULL },
	{ "torgate-onions 1\ntor 0.4.9.1%20pid=7%20cookie=ab\nonion " SID56
	    " cwtch\nend\n", "0.4.9.1 pid=7 cookie=ab", 1, SID56, "cwtch" },
	{ "torgate-onions 1\ntor t\nonion a p\nonion B q\nend\n", "t", 2, "a",
	    "p" },
	/* Names: every byte outside '!'..'~' and '%' as %XX. */
	{ "torgate-onions 1\ntor t\nonion a %25%20%0A%FF%7F!~\nend\n", "t", 1,
	    "a", "% \n\xff\x7f!~" },
};

START_TEST(test_good)
{
	onionstate_t st;
	char why[256], *again;
	size_t len;
	const char *text = good[_i].text;

	onionstate_init(&st);
	ck_assert_msg(onionstate_parse(text, strlen(text), &st, why,
	    sizeof(why)) == 0, "%s: %s", text, why);
	ck_assert_str_eq(st.tor, good[_i].tor);
	ck_assert_uint_eq(st.n, good[_i].n);
	if (st.n > 0) {
		ck_assert_str_eq(st.v[0].sid, good[_i].sid0);
		ck_assert_str_eq(st.v[0].profile, good[_i].profile0);
	}
	/* One spelling: writing it again gives the same bytes. */
	again = onionstate_format(&st, &len);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(again, text);
	free(again);
	onionstate_clear(&st);
}
END_TEST

/* Files refused whole, and the line named. */
static const struct {
	const char *text;
	const char *why;
} bad[] = {
	{ "", "line 1: the file ends early" },
	{ "torgate-onions 1", "line 1: the last line has no line end" },
	{ "torgate-onions 2\ntor t\nend\n", "line 1: format version \"2\"" },
	{ "torgate-onions 10\ntor t\nend\n", "line 1: format version" },
	{ "torgate-onions\ntor t\nend\n", "line 1: not a torgate" },
	{ "TORGATE-ONIONS 1\ntor t\nend\n", "line 1: not a torgate" },
	{ "torgate-onions 1\r\ntor t\nend\n", "line 1: format version" },
	{ "torgate-onions 1\ntor t\n", "line 3: the file ends early" },
	{ "torgate-onions 1\ntor t\nonion a p\n", "line 4: the file ends" },
	{ "torgate-onions 1\ntor t\nend", "line 3: the last line has no" },
	{ "torgate-onions 1\ntor t\nend\n\n", "line 3: text after" },
	{ "torgate-onions 1\ntor t\nend\nonion a p\n", "line 3: text after" },
	{ "torgate-onions 1\ntor \nend\n", "line 2: bad tor identity" },
	{ "torgate-onions 1\ntor\nend\n", "line 2: expected \"tor\"" },
	{ "torgate-onions 1\nend\n", "line 2: expected \"tor\"" },
	{ "torgate-onions 1\ntor a b\nend\n", "line 2: bad tor identity" },
	{ "torgate-onions 1\ntor t\nonion a\nend\n", "line 3: bad service" },
	{ "torgate-onions 1\ntor t\nonion  a p\nend\n", "line 3: bad service" },
	{ "torgate-onions 1\ntor t\nonion a.onion p\nend\n",
	    "line 3: bad service" },
	{ "torgate-onions 1\ntor t\nonion a p q\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a \nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a p\r\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a p\x01\nend\n",
	    "line 3: bad profile" },
	/* Only the writer's spelling: no %-coding of plain bytes, no lower
	 * case hex, no NUL, no short escape. */
	{ "torgate-onions 1\ntor t\nonion a %41\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a %ff\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a %00\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a %2\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a %\nend\n", "line 3: bad profile" },
	{ "torgate-onions 1\ntor t\nonion a%20p\nend\n", "line 3: bad service" },
	{ "torgate-onions 1\ntor t\nOnion a p\nend\n", "line 3: expected" },
	{ "torgate-onions 1\ntor t\n# note\nend\n", "line 3: expected" },
	{ "torgate-onions 1\ntor t\nEND\n", "line 3: expected" },
	/* A service listed twice, in any case, is ambiguous. */
	{ "torgate-onions 1\ntor t\nonion abc p\nonion ABC q\nend\n",
	    "listed twice" },
	{ "torgate-onions 1\ntor t\nonion abc p\nonion abc p\nend\n",
	    "listed twice" },
	/* A private key where a name should be: not a name. */
	{ "torgate-onions 1\ntor t\nonion a ED25519-V3:ab+c/d= x\nend\n",
	    "line 3: bad profile" },
};

START_TEST(test_bad)
{
	onionstate_t st;
	char why[256];
	const char *text = bad[_i].text;

	onionstate_init(&st);
	ck_assert_msg(onionstate_parse(text, strlen(text), &st, why,
	    sizeof(why)) < 0, "accepted %s", text);
	ck_assert_msg(strstr(why, bad[_i].why) != NULL, "%s: got \"%s\"", text,
	    why);
	ck_assert_ptr_null(st.tor);
	ck_assert_uint_eq(st.n, 0);
}
END_TEST

/* NUL bytes inside the text are refused (never read as an end). */
START_TEST(test_nul)
{
	static const char t[] = "torgate-onions 1\ntor t\0x\nend\n";
	onionstate_t st;
	char why[256];

	onionstate_init(&st);
	ck_assert_int_lt(onionstate_parse(t, sizeof(t) - 1, &st, why,
	    sizeof(why)), 0);
}
END_TEST

/* Bounds: service IDs 1..128, names 1..255 bytes, lines < 1024. */
START_TEST(test_bounds)
{
	onionstate_t st;
	char sid[ONIONSTATE_SID_MAX + 2], name[ONIONSTATE_NAME_MAX + 2];
	char *text, why[256];
	size_t len;

	onionstate_init(&st);
	memset(sid, 'a', sizeof(sid));
	sid[ONIONSTATE_SID_MAX] = '\0';
	memset(name, '\x01', sizeof(name));   /* each byte written as %01 */
	name[ONIONSTATE_NAME_MAX] = '\0';
	ck_assert_int_eq(onionstate_set_tor(&st, name), 0);
	ck_assert_int_eq(onionstate_add(&st, sid, name), 0);
	sid[ONIONSTATE_SID_MAX] = 'a';
	sid[ONIONSTATE_SID_MAX + 1] = '\0';
	ck_assert_int_lt(onionstate_add(&st, sid, "p"), 0);
	name[ONIONSTATE_NAME_MAX] = 'x';
	name[ONIONSTATE_NAME_MAX + 1] = '\0';
	ck_assert_int_lt(onionstate_add(&st, "a", name), 0);
	ck_assert_int_lt(onionstate_set_tor(&st, name), 0);
	ck_assert_int_lt(onionstate_add(&st, "", "p"), 0);
	ck_assert_int_lt(onionstate_add(&st, "a", ""), 0);
	ck_assert_int_lt(onionstate_add(&st, "a b", "p"), 0);
	ck_assert_int_lt(onionstate_add(&st, "a\n", "p"), 0);
	ck_assert_uint_eq(st.n, 1);
	/* The longest entry fits a line and reads back. */
	text = onionstate_format(&st, &len);
	onionstate_clear(&st);
	ck_assert_int_eq(onionstate_parse(text, len, &st, why, sizeof(why)), 0);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_uint_eq(strlen(st.v[0].profile), ONIONSTATE_NAME_MAX);
	onionstate_clear(&st);
	free(text);
	/* A line of 1024 bytes with its LF is one too long. */
	{
		char l[2048];
		int n = snprintf(l, sizeof(l), "torgate-onions 1\ntor ");
		memset(l + n, 'x', 1024 - 4);
		strcpy(l + n + 1024 - 4, "\nend\n");
		ck_assert_int_lt(onionstate_parse(l, strlen(l), &st, why,
		    sizeof(why)), 0);
		ck_assert_ptr_nonnull(strstr(why, "line 2: line longer"));
	}
}
END_TEST

/* At most ONIONSTATE_MAX entries: the bound is kept when adding and when
 * reading. */
START_TEST(test_max_entries)
{
	onionstate_t st;
	char sid[32], why[256], *text;
	size_t len;

	onionstate_init(&st);
	ck_assert_int_eq(onionstate_set_tor(&st, "t"), 0);
	for (unsigned i = 0; i < ONIONSTATE_MAX; i++) {
		snprintf(sid, sizeof(sid), "s%u", i);
		ck_assert_int_eq(onionstate_add(&st, sid, "p"), 0);
	}
	ck_assert_int_lt(onionstate_add(&st, "one", "p"), 0);
	text = onionstate_format(&st, &len);
	onionstate_clear(&st);
	ck_assert_int_eq(onionstate_parse(text, len, &st, why, sizeof(why)), 0);
	ck_assert_uint_eq(st.n, ONIONSTATE_MAX);
	onionstate_clear(&st);
	/* One more line is refused. */
	text = realloc(text, len + 32);
	len -= 4;   /* before "end\n" */
	len += (size_t)sprintf(text + len, "onion more p\nend\n");
	ck_assert_int_lt(onionstate_parse(text, len, &st, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "more than 65536"));
	free(text);
	/* The byte bound is checked before anything is read. */
	ck_assert_int_lt(onionstate_parse("x", ONIONSTATE_MAX_BYTES + 1, &st,
	    why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "larger than"));
}
END_TEST

/* ---- the file ------------------------------------------------------------ */

static char *
tmpdir(void)
{
	char *d = strdup("/tmp/tg-onionstate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
rmdir_all(const char *d)
{
	char *cmd;
	ck_assert_int_ne(asprintf(&cmd, "rm -rf '%s'", d), -1);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void
write_file(const char *dir, const char *text, mode_t mode)
{
	char *path;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", dir, ONIONSTATE_FILE), -1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(path);
}

START_TEST(test_save_load)
{
	char *d = tmpdir(), *path, why[512];
	onionstate_t st, back;
	struct stat sb;

	onionstate_init(&st);
	onionstate_init(&back);
	ck_assert_int_eq(onionstate_load(d, &back, why, sizeof(why)),
	    ONIONSTATE_ABSENT);
	ck_assert_int_eq(onionstate_set_tor(&st, "0.4.9 pid=1 cookie=none"),
	    0);
	ck_assert_int_eq(onionstate_add(&st, SID56, "cwtch"), 0);
	umask(0);   /* the file's mode must not depend on the umask */
	ck_assert_int_eq(onionstate_save(d, &st, why, sizeof(why)), 0);
	umask(022);
	ck_assert_int_ne(asprintf(&path, "%s/%s", d, ONIONSTATE_FILE), -1);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	ck_assert_int_eq(onionstate_load(d, &back, why, sizeof(why)),
	    ONIONSTATE_LOADED);
	ck_assert_str_eq(back.tor, st.tor);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_str_eq(back.v[0].profile, "cwtch");
	onionstate_clear(&back);
	/* Saving again replaces it, and leaves no temporary file. */
	onionstate_clear(&st);
	onionstate_init(&st);
	ck_assert_int_eq(onionstate_set_tor(&st, "t"), 0);
	ck_assert_int_eq(onionstate_save(d, &st, why, sizeof(why)), 0);
	ck_assert_int_eq(onionstate_load(d, &back, why, sizeof(why)),
	    ONIONSTATE_LOADED);
	ck_assert_uint_eq(back.n, 0);
	onionstate_clear(&back);
	{
		char *cmd;
		ck_assert_int_ne(asprintf(&cmd, "test \"$(ls -A '%s')\" = %s",
		    d, ONIONSTATE_FILE), -1);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
	/* A directory that cannot be written: an error, not a crash. */
	ck_assert_int_lt(onionstate_save("/nonexistent/dir", &st, why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "cannot create a temporary file"));
	onionstate_clear(&st);
	free(path);
	rmdir_all(d);
	free(d);
}
END_TEST

/* Files that load as BAD: corrupt, writable by others, not regular. */
START_TEST(test_load_bad)
{
	char *d = tmpdir(), *path, why[512];
	onionstate_t st;

	onionstate_init(&st);
	write_file(d, "torgate-onions 1\ntor t\nonion a p\n", 0600);
	ck_assert_int_eq(onionstate_load(d, &st, why, sizeof(why)),
	    ONIONSTATE_BAD);
	ck_assert_ptr_nonnull(strstr(why, "line 4"));
	ck_assert_uint_eq(st.n, 0);
	write_file(d, "torgate-onions 1\ntor t\nonion a p\nend\n", 0622);
	ck_assert_int_eq(onionstate_load(d, &st, why, sizeof(why)),
	    ONIONSTATE_BAD);
	ck_assert_ptr_nonnull(strstr(why, "writable by others"));
	write_file(d, "torgate-onions 1\ntor t\nonion a p\nend\n", 0644);
	ck_assert_int_eq(onionstate_load(d, &st, why, sizeof(why)),
	    ONIONSTATE_LOADED);   /* readable by others is fine: no secret */
	onionstate_clear(&st);
	ck_assert_int_ne(asprintf(&path, "%s/%s", d, ONIONSTATE_FILE), -1);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(onionstate_load(d, &st, why, sizeof(why)),
	    ONIONSTATE_BAD);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(onionstate_load(d, &st, why, sizeof(why)),
	    ONIONSTATE_BAD);   /* O_NOFOLLOW */
	free(path);
	rmdir_all(d);
	free(d);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("onionstate");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_max_entries);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_load_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tg_run_suite(suite());
}
