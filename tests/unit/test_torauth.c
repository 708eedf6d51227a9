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
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
