/*
 * test_admit.c: connections counted per user (src/admit.c): the key a
 * client is counted under, and the count at its bound.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "tg_check.h"

static peer_t
peer(bool local, bool is_unix, bool have_uid, uid_t uid, const char *host)
{
	peer_t p;

	memset(&p, 0, sizeof(p));
	p.local = local;
	p.is_unix = is_unix;
	p.have_uid = have_uid;
	p.have_cred = is_unix && have_uid;
	p.uid = uid;
	snprintf(p.host, sizeof(p.host), "%s", host);
	return p;
}

START_TEST(test_keys)
{
	admit_key_t k;
	peer_t p;

	p = peer(true, true, true, 1000, "unix");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "uid 1000");
	/* Loopback TCP: the same uid as a unix client, not the address. */
	p = peer(true, false, true, 1000, "127.0.0.1");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "uid 1000");
	/* Owner unknown: one shared key, never one per connection. */
	p = peer(true, false, false, 0, "127.0.0.1");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "uid unknown");
	p = peer(true, false, false, 0, "::1");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "uid unknown");
	/* Remote: the address (a uid there means nothing). */
	p = peer(false, false, true, 0, "10.0.0.7");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "address 10.0.0.7");
	p = peer(false, false, false, 0, "2001:db8::1");
	admit_key_of(&p, &k);
	ck_assert_str_eq(k.text, "address 2001:db8::1");
}
END_TEST

START_TEST(test_count_at_the_bound)
{
	admit_t *a = admit_new();
	admit_key_t u1 = { "uid 1000" }, u2 = { "uid 1001" };
	unsigned n;

	for (unsigned i = 1; i <= 64; i++) {
		ck_assert(admit_take(a, &u1, 64, &n));
		ck_assert_uint_eq(n, i);
	}
	/* N allowed, N+1 refused and not counted. */
	ck_assert(!admit_take(a, &u1, 64, &n));
	ck_assert_uint_eq(n, 64);
	ck_assert_uint_eq(admit_count(a, &u1), 64);
	/* Another user is not affected. */
	ck_assert(admit_take(a, &u2, 64, &n));
	ck_assert_uint_eq(n, 1);
	/* A released slot is free again. */
	admit_release(a, &u1);
	ck_assert_uint_eq(admit_count(a, &u1), 63);
	ck_assert(admit_take(a, &u1, 64, &n));
	ck_assert(!admit_take(a, &u1, 64, &n));
	for (unsigned i = 0; i < 64; i++)
		admit_release(a, &u1);
	ck_assert_uint_eq(admit_count(a, &u1), 0);
	admit_release(a, &u1);      /* nothing counted: no effect */
	ck_assert_uint_eq(admit_count(a, &u1), 0);
	ck_assert_uint_eq(admit_count(a, &u2), 1);
	admit_free(a);
}
END_TEST

/* Many keys (more than buckets) are kept apart. */
START_TEST(test_many_keys)
{
	admit_t *a = admit_new();
	admit_key_t k;
	unsigned n;

	for (unsigned i = 0; i < 5000; i++) {
		snprintf(k.text, sizeof(k.text), "uid %u", i);
		ck_assert(admit_take(a, &k, 2, &n));
		ck_assert(admit_take(a, &k, 2, &n));
		ck_assert(!admit_take(a, &k, 2, &n));
	}
	for (unsigned i = 0; i < 5000; i += 2) {
		snprintf(k.text, sizeof(k.text), "uid %u", i);
		admit_release(a, &k);
		admit_release(a, &k);
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(k.text, sizeof(k.text), "uid %u", i);
		ck_assert_uint_eq(admit_count(a, &k), i % 2 ? 2 : 0);
	}
	admit_free(a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("admit");
	TCase *tc = tcase_create("admit");

	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_count_at_the_bound);
	tcase_add_test(tc, test_many_keys);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
