/*
 * test_torrc.c: tor's configuration grammar (src/torrc.c): LOADCONF's
 * CmdData decoding, torrc lines with every trick tor's reader knows, and
 * option names resolved as tor resolves them.
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torrc.h"

START_TEST(test_cmddata)
{
	static const char body[] = "A 1\r\n.B 2\r\n..C 3\r\nD\r4\r\n.\r\n";
	size_t n;
	char *s = torrc_from_cmddata(body, strlen(body), &n);

	/* Every leading '.' goes (tor's read_escaped_data), CRLF -> LF. */
	ck_assert_str_eq(s, "A 1\nB 2\n.C 3\nD\r4\n\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);
	s = torrc_from_cmddata("", 0, &n);
	ck_assert_str_eq(s, "");
	free(s);
	s = torrc_from_cmddata("X", 1, &n);
	ck_assert_str_eq(s, "X");
	free(s);
}
END_TEST

/* text -> "key=value|key=value|" (cmd shown as + or /), or NULL: error.
 * len 0: strlen(text). */
static const struct {
	const char *text;
	const char *want;
	size_t len;
} cases[] = {
	{ "", "", 0 },
	{ "\n\n  # only a comment\n", "", 0 },
	{ "A 1\nB 2\n", "A=1|B=2|", 0 },
	{ "A 1", "A=1|", 0 },
	{ "  A   1  \n", "A=1|", 0 },
	{ "A\t1\r\n", "A=1|", 0 },
	{ "A\v1\n", "A=\v1|", 0 },                  /* only ' ' '\t' skipped */
	{ "A 1 # comment\n", "A=1|", 0 },
	{ "A 1#c\n", "A=1|", 0 },
	{ "A#c\n1 2\n", "A=|1=2|", 0 },             /* '#' ends the key */
	{ "A\n", "A=|", 0 },
	{ "A \"x y\"\n", "A=x y|", 0 },
	{ "A \"x\\ty\\x41\\101\\\\\\\"\"\n", "A=x\tyAA\\\"|", 0 },
	{ "A \"x\" # c\n", "A=x|", 0 },
	{ "A \"x\"  \r\n", "A=x|", 0 },
	/* tor steps over the CRLF and then finds the next line's text
	 * where it wants the end of this one: an error, as in tor. */
	{ "A \"x\"  \r\nB 2\n", NULL, 0 },
	{ "A \"x\\0y\"\n", "A=x|", 0 },             /* C string: \0 ends it */
	{ "A \"x\" y\n", NULL, 0 },                 /* excess data */
	{ "A \"x\n\"\n", NULL, 0 },                 /* newline in quotes */
	{ "A \"x\\q\"\n", NULL, 0 },                /* unknown escape */
	{ "A \"x\\400\"\n", NULL, 0 },              /* octal over 255 */
	{ "A \"x\n", NULL, 0 },                     /* unterminated */
	{ "A 1 \\\n2\n", "A=1 2|", 0 },             /* continuation */
	{ "A 1\\\n2\n", "A=12|", 0 },
	{ "A 1 \\\n# gone\n2\n", "A=1 2|", 0 },     /* comment inside */
	{ "A 1 \\\n2 # gone\n3\nB 4\n", "A=1 2 3|B=4|", 0 },
	{ "A\\\n 1 2\n", "A= 1 2|", 0 },            /* backslash-newline ends key */
	{ "+A 1\n/B 2\n", "+A=1|/B=|", 0 },         /* extended lines */
	{ "%include /etc/x\n", "%include=/etc/x|", 0 },
	{ "A \\x\n", "A=\\x|", 0 },                 /* no escapes unquoted */
	{ "A 1\0B 2\n", NULL, 8 },               /* NUL: refused */
};

static char *
show(const torrc_t *t)
{
	size_t cap = 1024, n = 0;
	char *s = calloc(1, cap);

	for (size_t i = 0; i < t->n; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s%s=%s|",
		    t->v[i].cmd == TORRC_APPEND ? "+" :
		    t->v[i].cmd == TORRC_CLEAR ? "/" : "",
		    t->v[i].key, t->v[i].value);
	return s;
}

START_TEST(test_parse)
{
	const char *text = cases[_i].text;
	size_t len = cases[_i].len ? cases[_i].len : strlen(text);
	torrc_t t;
	char err[128] = "";
	int rc;

	rc = torrc_parse(text, len, &t, err, sizeof(err));
	if (cases[_i].want == NULL) {
		ck_assert_msg(rc < 0, "'%s' parsed", text);
		ck_assert(err[0] != '\0');
		ck_assert_uint_eq(t.n, 0);
		return;
	}
	ck_assert_msg(rc == 0, "'%s': %s", text, err);
	char *got = show(&t);
	ck_assert_msg(strcmp(got, cases[_i].want) == 0, "'%s': got '%s'",
	    text, got);
	free(got);
	torrc_clear(&t);
}
END_TEST

START_TEST(test_lineno)
{
	static const char text[] = "# c\n\nA 1\nB 2 \\\n3\nC \"x\n";
	torrc_t t;
	char err[128];

	ck_assert_int_lt(torrc_parse(text, strlen(text), &t, err,
	    sizeof(err)), 0);
	ck_assert_msg(strstr(err, "line 6") != NULL, "%s", err);
	ck_assert_int_eq(torrc_parse(text, strlen(text) - 6, &t, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.v[0].lineno, 3);
	ck_assert_uint_eq(t.v[1].lineno, 4);
	torrc_clear(&t);
}
END_TEST

static const struct {
	const char *key;
	torrc_opt_t want;
	const char *canon;
} opts[] = {
	{ "HiddenServicePort", TORRC_OPT_HS_PORT, "HiddenServicePort" },
	{ "hiddenserviceport", TORRC_OPT_HS_PORT, "HiddenServicePort" },
	{ "HIDDENSERVICEPORT", TORRC_OPT_HS_PORT, "HiddenServicePort" },
	{ "HiddenServicePor", TORRC_OPT_PREFIX, "HiddenServicePort" },
	{ "hiddenservicep", TORRC_OPT_PREFIX, "HiddenServicePort" },
	{ "Hidden", TORRC_OPT_PREFIX, NULL },
	{ "H", TORRC_OPT_PREFIX, NULL },
	{ "HiddenServiceDir", TORRC_OPT_GUARDED, "HiddenServiceDir" },
	{ "HiddenServiceDirGroupReadable", TORRC_OPT_OTHER, NULL },
	{ "HiddenServiceDirG", TORRC_OPT_OTHER, NULL },
	{ "ControlPort", TORRC_OPT_GUARDED, "ControlPort" },
	{ "controlport", TORRC_OPT_GUARDED, "ControlPort" },
	{ "ControlP", TORRC_OPT_PREFIX, "ControlPort" },
	{ "ControlPortWriteToFile", TORRC_OPT_GUARDED,
	  "ControlPortWriteToFile" },
	{ "__ControlPort", TORRC_OPT_GUARDED, "__ControlPort" },
	{ "__", TORRC_OPT_PREFIX, NULL },
	{ "HashedControlPassword", TORRC_OPT_GUARDED,
	  "HashedControlPassword" },
	{ "CookieAuthFile", TORRC_OPT_GUARDED, "CookieAuthFile" },
	{ "SocksPort", TORRC_OPT_GUARDED, "SocksPort" },
	{ "ClientTransportPlugin", TORRC_OPT_GUARDED,
	  "ClientTransportPlugin" },
	{ "DisableNetwork", TORRC_OPT_OTHER, "DisableNetwork" },
	{ "EntryNode", TORRC_OPT_OTHER, "EntryNodes" },      /* alias */
	{ "usehelpernodes", TORRC_OPT_OTHER, "UseEntryGuards" },
	{ "%include", TORRC_OPT_BAD, NULL },
	{ "%Include", TORRC_OPT_BAD, NULL },
	{ "", TORRC_OPT_BAD, NULL },
	{ "SocksPortX", TORRC_OPT_OTHER, NULL },
};

START_TEST(test_option)
{
	const char *canon = NULL;
	torrc_opt_t got = torrc_option(opts[_i].key, &canon);

	ck_assert_msg(got == opts[_i].want, "'%s': class %d", opts[_i].key,
	    got);
	if (opts[_i].canon != NULL)
		ck_assert_str_eq(canon, opts[_i].canon);
}
END_TEST

START_TEST(test_same_option)
{
	ck_assert(torrc_same_option("HiddenServicePort", "hiddenserviceport"));
	ck_assert(torrc_same_option("EntryNode", "EntryNodes"));
	ck_assert(torrc_same_option("UseEntryNodes", "usehelpernodes"));
	ck_assert(!torrc_same_option("HiddenServiceP", "HiddenServicePort"));
	ck_assert(!torrc_same_option("SocksPort", "SocksPolicy"));
	/* Command-line-only alias: not applied to the control port. */
	ck_assert(!torrc_same_option("HashedControlPassword",
	    "__HashedControlSessionPassword"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("torrc");
	TCase *tc = tcase_create("torrc");

	tcase_add_test(tc, test_cmddata);
	tcase_add_loop_test(tc, test_parse, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_lineno);
	tcase_add_loop_test(tc, test_option, 0,
	    (int)(sizeof(opts) / sizeof(opts[0])));
	tcase_add_test(tc, test_same_option);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
