/*
 * test_torauth.c: cookie files, SAFECOOKIE hashes and password files
 * (src/torauth.c). The expected hashes are computed here with nettle's
 * one-shot HMAC over the whole message, with the keys written out again
 * from tor's control-spec, and checked against one vector computed with
 * Python's hmac module.
 */
#include "tg_check.h"
#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torauth.h"
#include "util.h"

/* control-spec.txt, "AUTHCHALLENGE": the two HMAC keys. */
#define SPEC_SERVER_KEY \
	"Tor safe cookie authentication server-to-controller hash"
#define SPEC_CLIENT_KEY \
	"Tor safe cookie authentication controller-to-server hash"

static char tmpdir[256];

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/tg-torauth-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Write n bytes to tmpdir/name; return the path (static buffer). */
static const char *
write_file(const char *name, const void *data, size_t n)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

static void
cleanup(const char *path)
{
	unlink(path);
	rmdir(tmpdir);
}

/* ---- cookie files --------------------------------------------------- */

/* Files of these sizes: only exactly 32 bytes is a cookie. */
static const size_t cookie_sizes[] = { 0, 1, 31, 32, 33, 64, 4096 };

START_TEST(test_cookie_sizes)
{
	size_t n = cookie_sizes[_i];
	uint8_t data[4096], cookie[TOR_COOKIE_LEN], zero[TOR_COOKIE_LEN] = {0};
	const char *path;
	int rc;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	make_tmpdir();
	path = write_file("cookie", data, n);
	memset(cookie, 0xee, sizeof(cookie));
	errno = 0;
	rc = torauth_read_cookie(path, cookie);
	if (n == TOR_COOKIE_LEN) {
		ck_assert_int_eq(rc, 0);
		ck_assert_mem_eq(cookie, data, TOR_COOKIE_LEN);
	} else {
		ck_assert_msg(rc == -1, "a %zu-byte cookie accepted", n);
		ck_assert_int_eq(errno, EINVAL);
		/* Nothing half-read is left behind. */
		ck_assert_mem_eq(cookie, zero, TOR_COOKIE_LEN);
	}
	cleanup(path);
}
END_TEST

START_TEST(test_cookie_not_a_file)
{
	uint8_t cookie[TOR_COOKIE_LEN];
	char path[512];

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	errno = 0;
	ck_assert_int_eq(torauth_read_cookie(path, cookie), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* A directory and a device are not cookie files. */
	errno = 0;
	ck_assert_int_eq(torauth_read_cookie(tmpdir, cookie), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(torauth_read_cookie("/dev/zero", cookie), -1);
	ck_assert_int_eq(errno, EINVAL);
	cleanup(path);

	/* A FIFO with no writer: refused at once, not waited on (the test
	 * times out if open() blocks). */
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	errno = 0;
	ck_assert_int_eq(torauth_read_cookie(path, cookie), -1);
	ck_assert_int_eq(errno, EINVAL);
	cleanup(path);
}
END_TEST

/* A symlink is not followed, even to a good cookie. */
START_TEST(test_cookie_symlink)
{
	uint8_t data[TOR_COOKIE_LEN] = {1, 2, 3}, cookie[TOR_COOKIE_LEN];
	char link[512], target[512];

	make_tmpdir();
	snprintf(target, sizeof(target), "%s", write_file("real", data,
	    sizeof(data)));
	ck_assert_int_eq(torauth_read_cookie(target, cookie), 0);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(target, link), 0);
	errno = 0;
	ck_assert_int_eq(torauth_read_cookie(link, cookie), -1);
	ck_assert_int_eq(errno, ELOOP);
	unlink(link);
	cleanup(target);
}
END_TEST

/* ---- SAFECOOKIE ----------------------------------------------------- */

static void
expected_hmac(const char *key, const uint8_t *msg, size_t len,
    uint8_t out[SAFECOOKIE_HASH_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&ctx, len, msg);
	hmac_sha256_digest(&ctx, SAFECOOKIE_HASH_LEN, out);
}

/* Rows: cookie byte pattern seed, client nonce length, server nonce
 * seed. Nonce lengths include none at all and torgate's maximum. */
static const struct {
	unsigned cookie_seed;
	size_t cn_len;
	unsigned sn_seed;
} sc_cases[] = {
	{ 0, 32, 0 },
	{ 1, 32, 2 },
	{ 3, 0, 4 },
	{ 5, 1, 6 },
	{ 7, 31, 8 },
	{ 9, 33, 10 },
	{ 11, SAFECOOKIE_CLIENT_NONCE_MAX, 12 },
	{ 255, 64, 255 },
};

static void
fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 3));
}

START_TEST(test_safecookie_rows)
{
	uint8_t cookie[TOR_COOKIE_LEN], sn[SAFECOOKIE_NONCE_LEN];
	uint8_t cn[SAFECOOKIE_CLIENT_NONCE_MAX];
	uint8_t msg[TOR_COOKIE_LEN + SAFECOOKIE_CLIENT_NONCE_MAX +
	    SAFECOOKIE_NONCE_LEN];
	uint8_t want_s[SAFECOOKIE_HASH_LEN], want_c[SAFECOOKIE_HASH_LEN];
	uint8_t got_s[SAFECOOKIE_HASH_LEN], got_c[SAFECOOKIE_HASH_LEN];
	uint8_t only[SAFECOOKIE_HASH_LEN];
	size_t cn_len = sc_cases[_i].cn_len, len = 0;

	fill(cookie, sizeof(cookie), sc_cases[_i].cookie_seed);
	fill(cn, cn_len, sc_cases[_i].cookie_seed + 100);
	fill(sn, sizeof(sn), sc_cases[_i].sn_seed + 200);

	/* The spec's message: cookie | client nonce | server nonce. */
	memcpy(msg + len, cookie, sizeof(cookie));
	len += sizeof(cookie);
	memcpy(msg + len, cn, cn_len);
	len += cn_len;
	memcpy(msg + len, sn, sizeof(sn));
	len += sizeof(sn);
	expected_hmac(SPEC_SERVER_KEY, msg, len, want_s);
	expected_hmac(SPEC_CLIENT_KEY, msg, len, want_c);

	torauth_safecookie(cookie, cn, cn_len, sn, got_s, got_c);
	ck_assert_mem_eq(got_s, want_s, SAFECOOKIE_HASH_LEN);
	ck_assert_mem_eq(got_c, want_c, SAFECOOKIE_HASH_LEN);
	ck_assert(memcmp(got_s, got_c, SAFECOOKIE_HASH_LEN) != 0);

	/* Either output alone. */
	torauth_safecookie(cookie, cn, cn_len, sn, only, NULL);
	ck_assert_mem_eq(only, want_s, SAFECOOKIE_HASH_LEN);
	torauth_safecookie(cookie, cn, cn_len, sn, NULL, only);
	ck_assert_mem_eq(only, want_c, SAFECOOKIE_HASH_LEN);
}
END_TEST

/* One bit flipped anywhere in the input changes both hashes. */
START_TEST(test_safecookie_every_byte_counts)
{
	uint8_t cookie[TOR_COOKIE_LEN], cn[32], sn[SAFECOOKIE_NONCE_LEN];
	uint8_t base_s[32], base_c[32], s[32], c[32];
	uint8_t *parts[3] = { cookie, cn, sn };

	fill(cookie, sizeof(cookie), 1);
	fill(cn, sizeof(cn), 2);
	fill(sn, sizeof(sn), 3);
	torauth_safecookie(cookie, cn, sizeof(cn), sn, base_s, base_c);
	for (int p = 0; p < 3; p++)
		for (size_t i = 0; i < 32; i++) {
			parts[p][i] ^= 0x01;
			torauth_safecookie(cookie, cn, sizeof(cn), sn, s, c);
			parts[p][i] ^= 0x01;
			ck_assert_msg(memcmp(s, base_s, 32) != 0 &&
			    memcmp(c, base_c, 32) != 0,
			    "part %d byte %zu ignored", p, i);
		}
}
END_TEST

/* A vector computed outside C:
 *   python3 -c 'import hmac, hashlib; m = bytes(range(32)) +
 *     bytes(range(0xa0, 0xc0)) + bytes(range(0x40, 0x60));
 *     print(hmac.new(KEY, m, hashlib.sha256).hexdigest())' */
START_TEST(test_safecookie_vector)
{
	uint8_t cookie[TOR_COOKIE_LEN], cn[32], sn[SAFECOOKIE_NONCE_LEN];
	uint8_t s[SAFECOOKIE_HASH_LEN], c[SAFECOOKIE_HASH_LEN];
	char hex[2 * SAFECOOKIE_HASH_LEN + 1];

	for (int i = 0; i < 32; i++) {
		cookie[i] = (uint8_t)i;
		cn[i] = (uint8_t)(0xa0 + i);
		sn[i] = (uint8_t)(0x40 + i);
	}
	torauth_safecookie(cookie, cn, sizeof(cn), sn, s, c);
	hex_encode(s, sizeof(s), hex);
	ck_assert_str_eq(hex, "5ffa7e60bad9dc0d36177a2c3308652b"
	    "70d9be5816e94c9263019f418bc569f6");
	hex_encode(c, sizeof(c), hex);
	ck_assert_str_eq(hex, "4e3c23097af87971f06472fe70afb532"
	    "e5368af7e3e54246d8f02bd012d14873");
}
END_TEST

/* ---- password files ------------------------------------------------- */

/* File content (with its length, for NULs) and the password read. */
#define ROW(s, want) { s, sizeof(s) - 1, want }
static const struct {
	const char *data;
	size_t len;
	const char *want;
} pw_cases[] = {
	ROW("secret\n", "secret"),
	ROW("secret", "secret"),
	ROW("secret\r\n", "secret"),
	ROW("secret\rmore\n", "secret"),
	ROW("secret\nsecond line\n", "secret"),
	ROW("", ""),
	ROW("\n", ""),
	ROW("\nsecret\n", ""),
	ROW("  spaced out \t\n", "  spaced out \t"),
	ROW("p\"a\\ss wörd\n", "p\"a\\ss wörd"),
};

START_TEST(test_password_rows)
{
	const char *path;
	char *pw;

	make_tmpdir();
	path = write_file("pw", pw_cases[_i].data, pw_cases[_i].len);
	pw = torauth_read_password(path);
	ck_assert_ptr_nonnull(pw);
	ck_assert_str_eq(pw, pw_cases[_i].want);
	free_secret_str(pw);
	cleanup(path);
}
END_TEST

/* The longest line read whole: 1023 bytes. */
START_TEST(test_password_long)
{
	char data[1024 + 1];
	const char *path;
	char *pw;

	memset(data, 'x', 1023);
	data[1023] = '\n';
	data[1024] = '\0';
	make_tmpdir();
	path = write_file("pw", data, 1024);
	pw = torauth_read_password(path);
	ck_assert_ptr_nonnull(pw);
	ck_assert_uint_eq(strlen(pw), 1023);
	ck_assert(strspn(pw, "x") == 1023);
	free_secret_str(pw);
	cleanup(path);
}
END_TEST

START_TEST(test_password_missing)
{
	char path[512];

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	errno = 0;
	ck_assert_ptr_null(torauth_read_password(path));
	ck_assert_int_eq(errno, ENOENT);
	/* A directory cannot be read. */
	errno = 0;
	ck_assert_ptr_null(torauth_read_password(tmpdir));
	ck_assert_int_eq(errno, EISDIR);
	cleanup(path);
}
END_TEST

/* ---- torgate's own client cookie: AUTHENTICATE as tor checks it ------ */

/* A cookie of printable bytes, so that its QuotedString form is easy to
 * write; 4142...35 in hex. */
static const uint8_t own[TOR_COOKIE_LEN] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
#define OWN_HEX "4142434445464748494a4b4c4d4e4f505152535455565758595a303132333435"
/* OWN_HEX without its first byte. */
#define OWN_REST "42434445464748494a4b4c4d4e4f505152535455565758595a303132333435"
#define OWN_HEX_UP "4142434445464748494A4B4C4D4E4F505152535455565758595A303132333435"
/* The SAFECOOKIE client hash the rows with sc use (any 32 bytes). */
static const uint8_t hash[SAFECOOKIE_HASH_LEN] =
    "abcdefghijklmnopqrstuvwxyz!#$%&(";
#define HASH_HEX "6162636465666768696a6b6c6d6e6f707172737475767778797a212324252628"

static const struct {
	const char *args;
	bool sc;                /* after AUTHCHALLENGE: the hash only */
	torauth_check_t want;
} auth_rows[] = {
	/* What tor accepts: hex in either case, blanks around it, the
	 * QuotedString form (a backslash takes the next character). */
	{ OWN_HEX, false, TORAUTH_OK },
	{ OWN_HEX_UP, false, TORAUTH_OK },
	{ "  " OWN_HEX " \t", false, TORAUTH_OK },
	{ "\r\v\n" OWN_HEX, false, TORAUTH_OK },
	{ "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"", false, TORAUTH_OK },
	{ "\"\\A\\BCDEFGHIJKLMNOPQRSTUVWXYZ012345\"", false, TORAUTH_OK },
	/* ... and a word with a quote in it is taken as it is (tor:
	 * strchr(raw_body, '"')): 32 bytes, but not the cookie. */
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234\"", false, TORAUTH_E_MISMATCH },
	/* The wrong cookie, the wrong length, nothing at all. */
	{ "00" OWN_REST, false, TORAUTH_E_MISMATCH },
	{ OWN_HEX "00", false, TORAUTH_E_LENGTH },
	{ "4142", false, TORAUTH_E_LENGTH },
	{ "", false, TORAUTH_E_LENGTH },
	{ "   ", false, TORAUTH_E_LENGTH },
	{ "\"\"", false, TORAUTH_E_LENGTH },
	{ "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ01234\"", false, TORAUTH_E_LENGTH },
	/* "\x41" is the three characters x41, not 'A': not the cookie. */
	{ "\"\\x41BCDEFGHIJKLMNOPQRSTUVWXYZ012345\"", false,
	    TORAUTH_E_LENGTH },
	/* Not hex: odd, or a letter past f (tor: 551 even at the wrong
	 * length). */
	{ &OWN_HEX[1], false, TORAUTH_E_HEX },
	{ "zz", false, TORAUTH_E_HEX },
	{ "0g" OWN_REST, false, TORAUTH_E_HEX },
	{ "a", false, TORAUTH_E_HEX },
	/* Keywords, more than one item, what tor cannot parse. */
	{ "x=" OWN_HEX, false, TORAUTH_E_KEYWORD },
	{ "x=\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"", false, TORAUTH_E_KEYWORD },
	{ OWN_HEX " 00", false, TORAUTH_E_MANY },
	{ "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"x", false, TORAUTH_E_MANY },
	{ "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", false, TORAUTH_E_PARSE },
	{ "\"abc\\\"", false, TORAUTH_E_PARSE },
	{ "=" OWN_HEX, false, TORAUTH_E_PARSE },
	/* \f is a blank to tor's word splitting, not to kvline. */
	{ OWN_HEX "\f", false, TORAUTH_E_HEX },
	/* After AUTHCHALLENGE only the client hash, not the cookie. */
	{ HASH_HEX, true, TORAUTH_OK },
	{ OWN_HEX, true, TORAUTH_E_MISMATCH },
	{ "", true, TORAUTH_E_LENGTH },
	{ HASH_HEX "00", true, TORAUTH_E_LENGTH },
	{ HASH_HEX, false, TORAUTH_E_MISMATCH },
};

START_TEST(test_check_rows)
{
	const char *a = auth_rows[_i].args;
	torauth_check_t r = torauth_check(a, strlen(a), own,
	    auth_rows[_i].sc ? hash : NULL);

	ck_assert_msg(r == auth_rows[_i].want, "row %d (%s): %d, want %d",
	    _i, a, (int)r, (int)auth_rows[_i].want);
}
END_TEST

/* Each byte of the cookie counts (constant-time compare of all 32). */
START_TEST(test_check_every_byte)
{
	char hex[2 * TOR_COOKIE_LEN + 1];
	uint8_t c[TOR_COOKIE_LEN];

	for (size_t i = 0; i < TOR_COOKIE_LEN; i++) {
		memcpy(c, own, sizeof(c));
		c[i] ^= 0x80;
		hex_encode(c, sizeof(c), hex);
		ck_assert_int_eq(torauth_check(hex, strlen(hex), own, NULL),
		    TORAUTH_E_MISMATCH);
	}
}
END_TEST

/* A NUL inside the arguments is never read as the end of them. */
START_TEST(test_check_nul)
{
	static const char a[] = OWN_HEX "\0" "00";

	ck_assert_int_eq(torauth_check(a, sizeof(a) - 1, own, NULL),
	    TORAUTH_E_PARSE);
	ck_assert_int_eq(torauth_check("\"A\0\"", 4, own, NULL),
	    TORAUTH_E_PARSE);
}
END_TEST

/* tor's words, exactly (control_auth.c). */
START_TEST(test_check_replies)
{
	ck_assert_ptr_null(torauth_check_reply(TORAUTH_OK, false));
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_MISMATCH, false),
	    "515 Authentication failed: Authentication cookie did not match "
	    "expected value.");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_MISMATCH, true),
	    "515 Authentication failed: Safe cookie response did not match "
	    "expected value.");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_LENGTH, false),
	    "515 Authentication failed: Wrong length on authentication "
	    "cookie.");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_LENGTH, true),
	    "515 Authentication failed: Wrong length for safe cookie "
	    "response.");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_PARSE, false),
	    "512 Bad arguments to AUTHENTICATE: Cannot parse keyword "
	    "argument(s)");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_MANY, false),
	    "512 Too many arguments to AUTHENTICATE.");
	ck_assert_str_eq(torauth_check_reply(TORAUTH_E_KEYWORD, false),
	    "512 AUTHENTICATE does not accept keyword arguments.");
	ck_assert(strncmp(torauth_check_reply(TORAUTH_E_HEX, false),
	    "551 Invalid hexadecimal encoding.  Maybe", 40) == 0);
}
END_TEST

/* AUTHCHALLENGE's nonce goes through the same reading. */
static const struct {
	const char *s;
	torauth_arg_t want;
	const char *value;      /* for TORAUTH_ARG_ONE */
	bool quoted;
} arg_rows[] = {
	{ "", TORAUTH_ARG_NONE, NULL, false },
	{ " \t", TORAUTH_ARG_NONE, NULL, false },
	{ "abcd", TORAUTH_ARG_ONE, "abcd", false },
	{ " abcd\t", TORAUTH_ARG_ONE, "abcd", false },
	{ "\"a b\"", TORAUTH_ARG_ONE, "a b", true },
	{ "\"\\x41\\\\\\\"\"", TORAUTH_ARG_ONE, "x41\\\"", true },
	{ "\"\\0\"", TORAUTH_ARG_ONE, "0", true },
	{ "ab\"cd", TORAUTH_ARG_ONE, "ab\"cd", true },
	{ "\"\"", TORAUTH_ARG_ONE, "", true },
	{ "k=v", TORAUTH_ARG_KEYWORD, NULL, false },
	{ "k=", TORAUTH_ARG_KEYWORD, NULL, false },
	{ "a b", TORAUTH_ARG_MANY, NULL, false },
	{ "\"a\"b", TORAUTH_ARG_MANY, NULL, true },
	{ "\"a", TORAUTH_ARG_BAD, NULL, true },
	{ "\"a\\", TORAUTH_ARG_BAD, NULL, true },
	{ "=v", TORAUTH_ARG_BAD, NULL, false },
	{ "a =v", TORAUTH_ARG_BAD, NULL, false },
};

START_TEST(test_arg_rows)
{
	char *v = NULL;
	size_t vlen = 0;
	bool quoted = !arg_rows[_i].quoted;
	torauth_arg_t r = torauth_parse_arg(arg_rows[_i].s,
	    strlen(arg_rows[_i].s), &v, &vlen, &quoted);

	ck_assert_msg(r == arg_rows[_i].want, "row %d (%s): %d, want %d", _i,
	    arg_rows[_i].s, (int)r, (int)arg_rows[_i].want);
	if (r == TORAUTH_ARG_ONE) {
		ck_assert_ptr_nonnull(v);
		ck_assert_uint_eq(vlen, strlen(arg_rows[_i].value));
		ck_assert_str_eq(v, arg_rows[_i].value);
		ck_assert(quoted == arg_rows[_i].quoted);
	} else
		ck_assert_ptr_null(v);
	free(v);
}
END_TEST

/* ---- torgate's own client cookie: the file ---------------------------- */

static int
count_entries(const char *dir)
{
	char cmd[600];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(test_write_cookie)
{
	char path[512], err[600];
	uint8_t c1[TOR_COOKIE_LEN], c2[TOR_COOKIE_LEN], back[TOR_COOKIE_LEN];
	struct stat st;
	ino_t ino;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/own.authcookie", tmpdir);
	ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
	    (gid_t)-1, c1, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(torauth_read_cookie(path, back), 0);
	ck_assert(memcmp(back, c1, sizeof(c1)) == 0);
	ino = st.st_ino;
	/* Again: another cookie, another file renamed over the first, the
	 * mode whatever the umask. */
	umask(0777);
	ck_assert_int_eq(torauth_write_cookie(path, 0600, (uid_t)-1,
	    (gid_t)-1, c2, err, sizeof(err)), 0);
	umask(022);
	ck_assert(memcmp(c1, c2, sizeof(c1)) != 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(st.st_ino != ino);
	ck_assert_int_eq(torauth_read_cookie(path, back), 0);
	ck_assert(memcmp(back, c2, sizeof(c2)) == 0);
	/* Our own group: allowed to anyone. */
	ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
	    getegid(), c2, err, sizeof(err)), 0);
	ck_assert_int_eq(count_entries(tmpdir), 1);
	cleanup(path);
}
END_TEST

START_TEST(test_write_cookie_refused)
{
	char path[512], target[512], err[600];
	uint8_t c[TOR_COOKIE_LEN], zero[TOR_COOKIE_LEN] = { 0 };

	make_tmpdir();
	/* A symlink is replaced by nothing, and nothing is written through
	 * it. */
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	ck_assert_int_eq(symlink(target, path), 0);
	memset(c, 0xee, sizeof(c));
	ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
	    (gid_t)-1, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert(memcmp(c, zero, sizeof(c)) == 0);     /* wiped */
	ck_assert_int_eq(access(target, F_OK), -1);
	ck_assert_int_eq(unlink(path), 0);
	/* A directory. */
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
	    (gid_t)-1, c, err, sizeof(err)), -1);
	ck_assert_int_eq(rmdir(path), 0);
	/* No such directory; a path that ends in '/'; no '/'. */
	snprintf(path, sizeof(path), "%s/nodir/c", tmpdir);
	ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
	    (gid_t)-1, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_int_eq(torauth_write_cookie("/tmp/", 0640, (uid_t)-1,
	    (gid_t)-1, c, err, sizeof(err)), -1);
	ck_assert_int_eq(torauth_write_cookie("c", 0640, (uid_t)-1,
	    (gid_t)-1, c, err, sizeof(err)), -1);
	/* A group we cannot give it (unless root): nothing left behind. */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/c", tmpdir);
		ck_assert_int_eq(torauth_write_cookie(path, 0640, (uid_t)-1,
		    0, c, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "chown"));
	}
	ck_assert_int_eq(count_entries(tmpdir), 0);
	rmdir(tmpdir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("torauth");
	TCase *tc = tcase_create("torauth");

	tcase_add_loop_test(tc, test_cookie_sizes, 0,
	    (int)ARRAY_LEN(cookie_sizes));
	tcase_add_test(tc, test_cookie_not_a_file);
	tcase_add_test(tc, test_cookie_symlink);
	tcase_add_loop_test(tc, test_safecookie_rows, 0,
	    (int)ARRAY_LEN(sc_cases));
	tcase_add_test(tc, test_safecookie_every_byte_counts);
	tcase_add_test(tc, test_safecookie_vector);
	tcase_add_loop_test(tc, test_password_rows, 0,
	    (int)ARRAY_LEN(pw_cases));
	tcase_add_test(tc, test_password_long);
	tcase_add_test(tc, test_password_missing);
	tcase_add_loop_test(tc, test_check_rows, 0, (int)ARRAY_LEN(auth_rows));
	tcase_add_test(tc, test_check_every_byte);
	tcase_add_test(tc, test_check_nul);
	tcase_add_test(tc, test_check_replies);
	tcase_add_loop_test(tc, test_arg_rows, 0, (int)ARRAY_LEN(arg_rows));
	tcase_add_test(tc, test_write_cookie);
	tcase_add_test(tc, test_write_cookie_refused);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
