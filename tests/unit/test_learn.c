/*
 * test_learn.c: suggested profiles (src/learn.c): the regex escaping
 * must make a pattern that matches exactly the text it came from.
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cmdtab.h"
#include "learn.h"
#include "profile.h"
#include "regex.h"

static const char *const texts[] = {
	"version",
	"ns/id/ABCDEF0123",
	"NEW:ED25519-V3 Port=80,127.0.0.1:8080 Flags=DiscardPK",
	"a.b|c*d+e?f(g)h[i]j{k}l^m$n\\o",
	"x  y\tz",
	"",
};

START_TEST(test_escape_roundtrip)
{
	const char *t = texts[_i];
	char *re = learn_regex_escape(t, strlen(t));
	char err[128];
	size_t off;
	tg_regex_t *r = regex_compile(re, strlen(re), err, sizeof(err), &off);
	char *longer = malloc(strlen(t) + 2);

	ck_assert_msg(r != NULL, "'%s' -> '%s': %s", t, re, err);
	ck_assert(regex_match(r, t, strlen(t), NULL));
	snprintf(longer, strlen(t) + 2, "%sX", t);
	ck_assert(!regex_match(r, longer, strlen(longer), NULL));
	if (strlen(t) > 1)
		ck_assert(!regex_match(r, "version2", 8, NULL) ||
		    strcmp(t, "version2") == 0);
	regex_free(r);
	free(re);
	free(longer);
}
END_TEST

START_TEST(test_names)
{
	peer_t p;
	char out[64];

	memset(&p, 0, sizeof(p));
	learn_name(&p, "onionshare", out, sizeof(out));
	ck_assert_str_eq(out, "onionshare");
	snprintf(p.exe, sizeof(p.exe), "/usr/bin/python3.11");
	learn_name(&p, NULL, out, sizeof(out));
	ck_assert_str_eq(out, "python3.11");
	snprintf(p.label, sizeof(p.label), "/usr/bin/tor browser");
	learn_name(&p, NULL, out, sizeof(out));
	ck_assert_str_eq(out, "tor_browser");
	learn_name(&p, "../../etc/x", out, sizeof(out));
	ck_assert(strchr(out, '/') == NULL);
}
END_TEST

/* Real shapes: a private key as tor gives it (88 base64 characters), an
 * x25519 client key (44), a v2 client cookie (22), tor's S2K hash. */
#define ED_B64 \
	"UJm8ARJxP4zgsCr5Kc6yNP2UJ84JnRFXdFYvUShqH2z8cB0GGjQHvNC2KKb9GKCV" \
	"G/KRpe6jg0DFPjZmH9NHVQ=="
#define ED_B64_2 \
	"aJm8ARJxP4zgsCr5Kc6yNP2UJ84JnRFXdFYvUShqH2z8cB0GGjQHvNC2KKb9GKCV" \
	"G/KRpe6jg0DFPjZmH9NHVQ=="
#define ED_KEY "ED25519-V3:" ED_B64
#define ED_KEY2 "ED25519-V3:" ED_B64_2
#define X_B64 "uBKh6DGrkcFxB1adYuyKQltUDDUT9IZrOsne3nfHbHI="
#define X_KEY "x25519:" X_B64
#define HASH_HEX \
	"E5A7F1D0A8C51F9D60B2AA5C3D2B73A1D86F3AF1B0A2E3D4C5B6A7988A"
#define COOKIE "dCmx3SAvBQZPFgPdG4rOjQ"
#define HASH "16:" HASH_HEX

static const struct {
	const char *args;
	const char *secret;       /* must not appear in the pattern */
	const char *other;        /* same shape, another secret: matches */
} secret_cases[] = {
	{ ED_KEY " Port=80,127.0.0.1:8080", ED_B64,
	  ED_KEY2 " Port=80,127.0.0.1:8080" },
	{ "ed25519-v3:" ED_B64, ED_B64, "ed25519-v3:" ED_B64_2 },
	{ "RSA1024:MIICXAIBAAKBgQC+abc/def+ghi= Port=80", "MIICXAIBAAKBgQC",
	  "RSA1024:Zm9v Port=80" },
	{ "NEW:BEST Port=80 ClientAuth=bob:" COOKIE, COOKIE,
	  "NEW:BEST Port=80 ClientAuth=bob:AAAAAAAAAAAAAAAAAAAAAA" },
	{ "m5bmcnsk64naezc26scz2xb3l3n2nd5xobsljljrpvf77tclmykn7wid " X_KEY
	  " ClientName=alice", X_B64,
	  "m5bmcnsk64naezc26scz2xb3l3n2nd5xobsljljrpvf77tclmykn7wid "
	  "x25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	  " ClientName=alice" },
	{ "HashedControlPassword=" HASH, HASH_HEX,
	  "HashedControlPassword=16:00000000000000000000000000000000000000"
	  "00000000000000000000" },
	{ "hashedcontrolpassword=\"" HASH "\" SocksPort=0", HASH_HEX,
	  "hashedcontrolpassword=\"16:000000000000000000000000000000000000"
	  "0000000000000000000000\" SocksPort=0" },
	{ "HashedControlSessionPassword=" HASH, HASH_HEX,
	  "HashedControlSessionPassword=" HASH },
};

START_TEST(test_secret_shapes)
{
	const char *a = secret_cases[_i].args;
	char *pat = learn_pattern(a, strlen(a));
	char err[128];
	size_t off;
	tg_regex_t *r;

	ck_assert_msg(strstr(pat, secret_cases[_i].secret) == NULL,
	    "secret in '%s'", pat);
	r = regex_compile(pat, strlen(pat), err, sizeof(err), &off);
	ck_assert_msg(r != NULL, "'%s': %s", pat, err);
	/* The learned rule allows the command it came from, and the same
	 * command with another secret of the same shape. */
	ck_assert_msg(regex_match(r, a, strlen(a), NULL), "'%s' on '%s'",
	    pat, a);
	ck_assert_msg(regex_match(r, secret_cases[_i].other,
	    strlen(secret_cases[_i].other), NULL), "'%s' on '%s'", pat,
	    secret_cases[_i].other);
	regex_free(r);
	free(pat);
}
END_TEST

/* Shapes are tor's: a key one character short or long is not learnt. */
START_TEST(test_secret_shapes_exact)
{
	const char *a = ED_KEY " Port=80,1";
	char *pat = learn_pattern(a, strlen(a));
	char err[128];
	size_t off;
	tg_regex_t *r = regex_compile(pat, strlen(pat), err, sizeof(err), &off);

	ck_assert_ptr_nonnull(r);
	ck_assert(!regex_match(r, "ED25519-V3:abc Port=80,1", 24, NULL));
	ck_assert(!regex_match(r, "ED25519-V3:x" ED_B64_2 " Port=80,1",
	    strlen("ED25519-V3:x" ED_B64_2 " Port=80,1"), NULL));
	regex_free(r);
	free(pat);
	/* No secret: plain escaping. */
	pat = learn_pattern("NEW:ED25519-V3 Port=80,1", 24);
	ck_assert_str_eq(pat, "NEW:ED25519-V3 Port=80,1");
	free(pat);
	pat = learn_pattern("ClientAuth=bob Port=1", 21);
	ck_assert_str_eq(pat, "ClientAuth=bob Port=1");
	free(pat);
}
END_TEST

/* The whole way: commands with secrets in, a file out that holds none of
 * them and loads as a profile allowing the commands. */
START_TEST(test_learned_file_has_no_secrets)
{
	char dir[] = "/tmp/tg-learn-XXXXXX", path[256], buf[8192];
	const char *cmds[][2] = {
		{ "ADD_ONION", ED_KEY " Port=80,127.0.0.1:8080" },
		{ "ADD_ONION", "NEW:BEST Port=80 ClientAuth=bob:" COOKIE },
		{ "ONION_CLIENT_AUTH_ADD", "m5bmcnsk64naezc26scz2xb3l3n2nd5xobs"
		  "ljljrpvf77tclmykn7wid " X_KEY },
		{ "SETCONF", "HashedControlPassword=" HASH },
	};
	const char *secrets[] = { ED_B64, COOKIE, X_B64, HASH_HEX };
	learn_set_t *l;
	peer_t p;
	FILE *fp;
	size_t n;
	profile_diag_t d = { 0 };
	profile_set_t *set;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&p, 0, sizeof(p));
	p.local = true;
	snprintf(p.user, sizeof(p.user), "u");
	l = learn_set_new(dir);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		learn_command(l, "app", &p, cmdtab_lookup_name(cmds[i][0]),
		    cmds[i][1], strlen(cmds[i][1]));
	ck_assert_int_eq(learn_write(l, "app"), 0);
	snprintf(path, sizeof(path), "%s/app.yml", dir);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		ck_assert_msg(strstr(buf, secrets[i]) == NULL, "%s in:\n%s",
		    secrets[i], buf);
	set = profile_set_load_buffer("app.yml", buf, n, &d);
	ck_assert_msg(set != NULL && d.errors == 0, "%s", buf);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const cmd_def_t *def = cmdtab_lookup_name(cmds[i][0]);
		const cmd_rules_t *rules = &set->v[0]->cmds[def->id];
		bool ok = false;
		for (size_t j = 0; j < rules->n && !ok; j++)
			ok = regex_match(rules->v[j].re, cmds[i][1],
			    strlen(cmds[i][1]), NULL);
		ck_assert_msg(ok, "%s %s not allowed by:\n%s", cmds[i][0],
		    cmds[i][1], buf);
	}
	profile_set_unref(set);
	learn_set_free(l);
	unlink(path);
	rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("learn");
	TCase *tc = tcase_create("learn");

	tcase_add_loop_test(tc, test_escape_roundtrip, 0,
	    (int)(sizeof(texts) / sizeof(texts[0])));
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_secret_shapes, 0,
	    (int)(sizeof(secret_cases) / sizeof(secret_cases[0])));
	tcase_add_test(tc, test_secret_shapes_exact);
	tcase_add_test(tc, test_learned_file_has_no_secrets);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
