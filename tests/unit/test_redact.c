/*
 * test_redact.c: unit tests for redact.c (scrubbing secrets for logs).
 *
 * Rows of two tables, one for commands and one for reply lines, give an
 * input and the exact expected output; each row is its own loop test.
 * Every secret in the inputs contains "SECRET", and each row also checks
 * that no output contains it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

struct redact_case {
	const char *in;
	size_t in_len;
	const char *expected;
};

#define CASE(in, out) { in, sizeof(in) - 1, out }

static const struct redact_case cmd_cases[] = {
	/* AUTHENTICATE: everything after the keyword */
	CASE("AUTHENTICATE \"SECRET password\"", "AUTHENTICATE [scrubbed]"),
	CASE("AUTHENTICATE 5345435245540a", "AUTHENTICATE [scrubbed]"),
	CASE("authenticate SECRET", "authenticate [scrubbed]"),
	CASE("AUTHENTICATE\tSECRET", "AUTHENTICATE\t[scrubbed]"),
	CASE("AUTHENTICATE  SECRET SECRET", "AUTHENTICATE  [scrubbed]"),
	CASE("AUTHENTICATE", "AUTHENTICATE"),
	CASE("AUTHENTICATE ", "AUTHENTICATE "),
	CASE("+AUTHENTICATE SECRET", "+AUTHENTICATE [scrubbed]"),
	/* AUTHCHALLENGE: the method stays, the nonce goes */
	CASE("AUTHCHALLENGE SAFECOOKIE SECRET0123",
	    "AUTHCHALLENGE SAFECOOKIE [scrubbed]"),
	CASE("AuthChallenge safecookie SECRET",
	    "AuthChallenge safecookie [scrubbed]"),
	CASE("AUTHCHALLENGE SAFECOOKIE", "AUTHCHALLENGE SAFECOOKIE"),
	CASE("AUTHCHALLENGE SECRET", "AUTHCHALLENGE [scrubbed]"),
	CASE("AUTHCHALLENGE SAFECOOKIES SECRET", "AUTHCHALLENGE [scrubbed]"),
	/* ONION_CLIENT_AUTH_ADD: the address stays */
	CASE("ONION_CLIENT_AUTH_ADD "
	    "ab2cd3ef4gh5ij6kl7mn8op9qr2st3uv4wx5yz6ab7cd8ef9gh2ijkl "
	    "x25519:SECRETkey= ClientName=alice Flags=Permanent",
	    "ONION_CLIENT_AUTH_ADD "
	    "ab2cd3ef4gh5ij6kl7mn8op9qr2st3uv4wx5yz6ab7cd8ef9gh2ijkl "
	    "[scrubbed]"),
	CASE("onion_client_auth_add abc.onion SECRET",
	    "onion_client_auth_add abc.onion [scrubbed]"),
	CASE("ONION_CLIENT_AUTH_ADD x25519:SECRET",
	    "ONION_CLIENT_AUTH_ADD x25519:[scrubbed]"),
	CASE("ONION_CLIENT_AUTH_ADD abc", "ONION_CLIENT_AUTH_ADD abc"),
	/* key blobs anywhere */
	CASE("ADD_ONION ED25519-V3:SECRETblob+/= Port=80",
	    "ADD_ONION ED25519-V3:[scrubbed] Port=80"),
	CASE("ADD_ONION ed25519-v3:SECRET Flags=Detach Port=80,8080",
	    "ADD_ONION ed25519-v3:[scrubbed] Flags=Detach Port=80,8080"),
	CASE("ADD_ONION RSA1024:SECRET Port=80",
	    "ADD_ONION RSA1024:[scrubbed] Port=80"),
	CASE("ADD_ONION ED25519-V3:SECRET\tPort=80",
	    "ADD_ONION ED25519-V3:[scrubbed]\tPort=80"),
	CASE("ADD_ONION ED25519-V3:SECRET", "ADD_ONION ED25519-V3:[scrubbed]"),
	CASE("ADD_ONION ED25519-V3:SECRET ED25519-V3:SECRET",
	    "ADD_ONION ED25519-V3:[scrubbed] ED25519-V3:[scrubbed]"),
	CASE("ADD_ONION ED25519-V3: Port=80", "ADD_ONION ED25519-V3: Port=80"),
	/* ... but not key types */
	CASE("ADD_ONION NEW:ED25519-V3 Port=80",
	    "ADD_ONION NEW:ED25519-V3 Port=80"),
	CASE("ADD_ONION NEW:BEST Flags=DiscardPK Port=80,127.0.0.1:8080",
	    "ADD_ONION NEW:BEST Flags=DiscardPK Port=80,127.0.0.1:8080"),
	CASE("ADD_ONION NEW:RSA1024 Port=80", "ADD_ONION NEW:RSA1024 Port=80"),
	/* public client keys stay */
	CASE("ADD_ONION NEW:BEST Port=80 ClientAuthV3=PUBLICKEY",
	    "ADD_ONION NEW:BEST Port=80 ClientAuthV3=PUBLICKEY"),
	/* hashed passwords, as Key=value and as torrc lines */
	CASE("SETCONF HashedControlPassword=16:SECRET",
	    "SETCONF HashedControlPassword=[scrubbed]"),
	CASE("SETCONF HashedControlPassword=\"16:SECRET \\\" SECRET\" Log=x",
	    "SETCONF HashedControlPassword=[scrubbed] Log=x"),
	CASE("SETCONF hashedcontrolsessionpassword=16:SECRET ControlPort=1",
	    "SETCONF hashedcontrolsessionpassword=[scrubbed] ControlPort=1"),
	CASE("SETCONF HashedControlPassword=\"16:SECRET",
	    "SETCONF HashedControlPassword=[scrubbed]"),
	CASE("SETCONF HashedControlPassword=", "SETCONF HashedControlPassword="),
	CASE("HashedControlPassword 16:SECRET",
	    "HashedControlPassword [scrubbed]"),
	CASE("  hashedcontrolpassword\t16:SECRET SECRET",
	    "  hashedcontrolpassword\t[scrubbed]"),
	CASE("PrivateKey=ED25519-V3:SECRET", "PrivateKey=ED25519-V3:[scrubbed]"),
	CASE("ADD_ONION NEW:BEST Port=80 ClientAuth=bob:SECRET",
	    "ADD_ONION NEW:BEST Port=80 ClientAuth=bob:[scrubbed]"),
	CASE("ADD_ONION NEW:BEST Port=80 clientauth=bob:SECRET Flags=x",
	    "ADD_ONION NEW:BEST Port=80 clientauth=bob:[scrubbed] Flags=x"),
	/* a v3 client's key is public: kept */
	CASE("ADD_ONION NEW:BEST Port=80 ClientAuthV3=ABCDEF",
	    "ADD_ONION NEW:BEST Port=80 ClientAuthV3=ABCDEF"),
	/* harmless lines pass unchanged */
	CASE("", ""),
	CASE("GETINFO version", "GETINFO version"),
	CASE("+LOADCONF", "+LOADCONF"),
	CASE("SETCONF HashedControlPasswordX 16:ab",
	    "SETCONF HashedControlPasswordX 16:ab"),
	CASE("DEL_ONION abcdef", "DEL_ONION abcdef"),
	CASE("AUTHENTICATEX foo", "AUTHENTICATEX foo"),
};

static const struct redact_case reply_cases[] = {
	CASE("250-ServiceID=abcdef", "250-ServiceID=abcdef"),
	CASE("250-PrivateKey=ED25519-V3:SECRET+/==",
	    "250-PrivateKey=ED25519-V3:[scrubbed]"),
	CASE("250 PrivateKey=RSA1024:SECRET", "250 PrivateKey=RSA1024:[scrubbed]"),
	CASE("250-PrivateKey=SECRET", "250-PrivateKey=[scrubbed]"),
	CASE("250-PrivateKey=", "250-PrivateKey="),
	CASE("250-privatekey=FUTURE:SECRET", "250-privatekey=FUTURE:[scrubbed]"),
	CASE("250-CLIENT abc.onion x25519:SECRET ClientName=alice",
	    "250-CLIENT abc.onion x25519:[scrubbed] ClientName=alice"),
	CASE("250-CLIENT abc.onion X25519:SECRET",
	    "250-CLIENT abc.onion X25519:[scrubbed]"),
	CASE("250 HashedControlPassword=16:SECRET",
	    "250 HashedControlPassword=[scrubbed]"),
	CASE("HashedControlPassword 16:SECRET",
	    "HashedControlPassword [scrubbed]"),
	CASE("250-ClientAuth=bob:SECRET", "250-ClientAuth=bob:[scrubbed]"),
	CASE("250 OK", "250 OK"),
	CASE("", ""),
	CASE("650 STREAM 1 NEW 0 example.com:80",
	    "650 STREAM 1 NEW 0 example.com:80"),
	CASE("250-onions/current=abc", "250-onions/current=abc"),
};

/* Check one row against f. */
static void
check_case(char *(*f)(const char *, size_t), const struct redact_case *c)
{
	char *out = f(c->in, c->in_len);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strcmp(out, c->expected) == 0,
	    "'%s': got '%s', want '%s'", c->in, out, c->expected);
	ck_assert_msg(strstr(out, "SECRET") == NULL, "'%s' leaks: '%s'",
	    c->in, out);
	free(out);
}

START_TEST(test_command_table)
{
	check_case(redact_command, &cmd_cases[_i]);
}
END_TEST

START_TEST(test_reply_table)
{
	check_case(redact_reply, &reply_cases[_i]);
}
END_TEST

/* Only len bytes are read. */
START_TEST(test_length_bound)
{
	char *out;

	out = redact_command("GETINFO version SECRET", 15);
	ck_assert_str_eq(out, "GETINFO version");
	free(out);
	out = redact_reply("250-PrivateKey=ED25519-V3:SECRET", 26);
	ck_assert_str_eq(out, "250-PrivateKey=ED25519-V3:");
	free(out);
	out = redact_command("AUTHENTICATE SECRET", 12);
	ck_assert_str_eq(out, "AUTHENTICATE");
	free(out);
}
END_TEST

/* NUL bytes neither crash the keyword lookup nor stop the scrubbing. */
START_TEST(test_nul_bytes)
{
	static const char cmd[] = "AUTH\0ENTICATE x25519:SECRET";
	static const char reply[] = "250\0PrivateKey=SECRET";
	char *out;

	out = redact_command(cmd, sizeof(cmd) - 1);
	ck_assert_str_eq(out, "AUTH");
	ck_assert_str_eq(out + 5, "ENTICATE x25519:[scrubbed]");
	free(out);
	out = redact_reply(reply, sizeof(reply) - 1);
	ck_assert_str_eq(out + 4, "PrivateKey=[scrubbed]");
	free(out);
}
END_TEST

/* Long lines with many secrets. */
START_TEST(test_many_secrets)
{
	enum { N = 500 };
	static const char unit[] = "x25519:SECRET ";
	size_t ulen = sizeof(unit) - 1;
	char *in = xmalloc(N * ulen + 1), *out;

	for (size_t i = 0; i < N; i++)
		memcpy(in + i * ulen, unit, ulen);
	in[N * ulen] = '\0';
	out = redact_reply(in, N * ulen);
	ck_assert_ptr_null(strstr(out, "SECRET"));
	ck_assert_uint_eq(strlen(out), N * strlen("x25519:[scrubbed] "));
	free(out);
	free(in);
}
END_TEST

static Suite *
redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_add_loop_test(tc, test_command_table, 0,
	    (int)ARRAY_LEN(cmd_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_loop_test(tc, test_reply_table, 0,
	    (int)ARRAY_LEN(reply_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_many_secrets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(redact_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
