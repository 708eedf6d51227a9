/*
 * test_onions.c: who created which onion service (src/onions.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onions.h"

/* Is `look` (counted) owned by profile after `sid` was added by "a"? */
static const struct {
	const char *sid;
	const char *profile;
	const char *look;
	bool owned;
} own_cases[] = {
	{ "abcdef", "a", "abcdef", true },
	{ "abcdef", "a", "ABCDEF", true },            /* any case */
	{ "AbCdEf", "a", "aBcDeF", true },
	{ "abcdef", "b", "abcdef", false },           /* other profile */
	{ "abcdef", "a", "abcde", false },            /* prefix */
	{ "abcdef", "a", "abcdefg", false },          /* longer */
	{ "abcdef", "a", "", false },
	{ "a@[", "a", "a`{", false },                 /* only letters fold */
	{ "a`{", "a", "A`{", true },
	{ "x2y7", "a", "X2Y7", true },
	{ "abcdef", "", "abcdef", false },            /* empty profile name */
	{ "abcdef", "a", "abcdeF", true },
};

START_TEST(test_owned_rows)
{
	onions_t *o = onions_new();
	const char *sid = own_cases[_i].sid, *look = own_cases[_i].look;

	ck_assert(onions_add(o, "a", sid, strlen(sid)));
	ck_assert_msg(onions_owned(o, own_cases[_i].profile, look,
	    strlen(look)) == own_cases[_i].owned, "%s by %s, looking up %s",
	    sid, own_cases[_i].profile, look);
	ck_assert_uint_eq(onions_count(o), 1);
	onions_free(o);
}
END_TEST

/* Lengths: 1 to 128 are recorded, 0 and 129+ refused. */
static const struct {
	size_t len;
	bool ok;
} len_cases[] = {
	{ 0, false }, { 1, true }, { 56, true }, { 127, true }, { 128, true },
	{ 129, false }, { 4096, false },
};

START_TEST(test_lengths)
{
	onions_t *o = onions_new();
	size_t len = len_cases[_i].len;
	char *sid = malloc(len + 1);

	ck_assert_ptr_nonnull(sid);
	memset(sid, 'q', len);
	sid[len] = '\0';
	ck_assert(onions_add(o, "p", sid, len) == len_cases[_i].ok);
	ck_assert(onions_owned(o, "p", sid, len) == len_cases[_i].ok);
	ck_assert_uint_eq(onions_count(o), len_cases[_i].ok ? 1 : 0);
	onions_remove(o, sid, len);
	ck_assert_uint_eq(onions_count(o), 0);
	free(sid);
	onions_free(o);
}
END_TEST

START_TEST(test_ownership)
{
	onions_t *o = onions_new();

	/* Removing from an empty table is harmless. */
	onions_remove(o, "abcdef", 6);
	ck_assert(!onions_owned(o, "a", "abcdef", 6));
	ck_assert(onions_add(o, "a", "abcdef", 6));
	ck_assert(onions_add(o, "a", "other", 5));
	ck_assert_uint_eq(onions_count(o), 2);
	/* The same service again, by another profile: now that one's. */
	ck_assert(onions_add(o, "b", "ABCDEF", 6));
	ck_assert_uint_eq(onions_count(o), 2);
	ck_assert(onions_owned(o, "b", "abcdef", 6));
	ck_assert(!onions_owned(o, "a", "abcdef", 6));
	/* Counted strings: bytes past len do not matter. */
	ck_assert(onions_owned(o, "a", "otherwise", 5));
	onions_remove(o, "Abcdef", 6);
	ck_assert(!onions_owned(o, "b", "abcdef", 6));
	ck_assert(onions_owned(o, "a", "other", 5));
	ck_assert_uint_eq(onions_count(o), 1);
	onions_remove(o, "absent", 6);
	ck_assert_uint_eq(onions_count(o), 1);
	onions_free(o);
}
END_TEST

static int
sid_of(unsigned i, char *buf, size_t n)
{
	return snprintf(buf, n, "s%u", i);
}

/* Exactly ONIONS_MAX services, then one more is refused; known ones can
 * still change hands, and a removal makes room for one more. */
START_TEST(test_bounded)
{
	onions_t *o = onions_new();
	char sid[32];
	int n;

	for (unsigned i = 0; i < ONIONS_MAX; i++) {
		n = sid_of(i, sid, sizeof(sid));
		if (!onions_add(o, "p", sid, (size_t)n))
			ck_abort_msg("service %u refused", i);
	}
	ck_assert_uint_eq(onions_count(o), ONIONS_MAX);
	for (unsigned i = 0; i < ONIONS_MAX; i++) {
		n = sid_of(i, sid, sizeof(sid));
		if (!onions_owned(o, "p", sid, (size_t)n))
			ck_abort_msg("service %u lost", i);
	}
	n = sid_of(ONIONS_MAX, sid, sizeof(sid));
	ck_assert(!onions_add(o, "p", sid, (size_t)n));
	ck_assert(!onions_owned(o, "p", sid, (size_t)n));
	ck_assert_uint_eq(onions_count(o), ONIONS_MAX);

	ck_assert(onions_add(o, "q", "S7", 2));
	ck_assert(onions_owned(o, "q", "s7", 2));
	ck_assert_uint_eq(onions_count(o), ONIONS_MAX);

	onions_remove(o, "s0", 2);
	ck_assert_uint_eq(onions_count(o), ONIONS_MAX - 1);
	ck_assert(onions_add(o, "p", sid, (size_t)n));
	ck_assert(onions_owned(o, "p", sid, (size_t)n));
	ck_assert(!onions_add(o, "p", "s0", 2));
	onions_free(o);
}
END_TEST

/* Random adds, removes and lookups against a plain array: deletion
 * inside probe clusters must never lose or invent an entry. */
#define MODEL_IDS 2048

START_TEST(test_against_model)
{
	static signed char owner[MODEL_IDS];    /* -1 absent, else 0..2 */
	static const char *const profiles[] = { "p0", "p1", "p2" };
	onions_t *o = onions_new();
	unsigned seed = 12345, count = 0;
	char sid[32];

	memset(owner, -1, sizeof(owner));
	for (unsigned step = 0; step < 200000; step++) {
		unsigned id, op, p;
		int n;

		seed = seed * 1103515245u + 12345u;
		id = (seed >> 8) % MODEL_IDS;
		op = (seed >> 20) % 3;
		p = (seed >> 24) % 3;
		/* Half the lookups in upper case. */
		n = snprintf(sid, sizeof(sid), (seed & 1) ? "ID%uX" : "id%ux",
		    id);
		if (op == 0) {
			if (!onions_add(o, profiles[p], sid, (size_t)n))
				ck_abort_msg("step %u: %s refused", step, sid);
			if (owner[id] < 0)
				count++;
			owner[id] = (signed char)p;
		} else if (op == 1) {
			onions_remove(o, sid, (size_t)n);
			if (owner[id] >= 0)
				count--;
			owner[id] = -1;
		}
		/* Plain ifs: check's assertions cost a write each. */
		if (onions_count(o) != count)
			ck_abort_msg("step %u: count %zu, want %u", step,
			    onions_count(o), count);
		for (unsigned q = 0; q < 3; q++)
			if (onions_owned(o, profiles[q], sid, (size_t)n) !=
			    (owner[id] == (signed char)q))
				ck_abort_msg("step %u: %s owned by %s: wrong",
				    step, sid, profiles[q]);
	}
	for (unsigned id = 0; id < MODEL_IDS; id++) {
		int n = snprintf(sid, sizeof(sid), "id%ux", id);
		if (onions_owned(o, "p0", sid, (size_t)n) != (owner[id] == 0))
			ck_abort_msg("%s: wrong owner at the end", sid);
	}
	onions_free(o);
}
END_TEST

/* Would tor create the service detached? The forms tor accepts, and
 * look-alikes it reads otherwise. */
static const struct {
	const char *args;
	bool detach;
} detach_cases[] = {
	{ "NEW:ED25519-V3 Flags=Detach Port=80", true },
	{ "NEW:ED25519-V3 Port=80 Flags=Detach", true },
	{ "ED25519-V3:k Flags=DiscardPK,Detach Port=9878,127.0.0.1:15000", true },
	{ "NEW:BEST flags=detach Port=80", true },          /* any case */
	{ "NEW:BEST FLAGS=DETACH Port=80", true },
	{ "NEW:BEST Flags=,Detach, Port=80", true },        /* blank items */
	{ "NEW:BEST Flags=DiscardPK Flags=Detach Port=80", true }, /* twice */
	{ "NEW:BEST\tFlags=Detach Port=80", false },  /* tab: still the key */
	{ "NEW:BEST Port=80\tFlags=Detach", true },   /* tab between items */
	{ "NEW:BEST  Port=80 \t Flags=Detach \r\n", true },
	{ "  NEW:BEST Flags=Detach", true },
	{ "NEW:BEST \fFlags=Detach", true },      /* split trims \f too */
	{ "NEW:BEST Port=80 \fFlags=Detach", false }, /* kvline keeps it */
	{ "NEW:BEST Flags=Detach\f", true },
	{ "NEW:BEST Port=80", false },
	{ "NEW:BEST Flags=DiscardPK Port=80", false },
	{ "NEW:BEST Flags=Detached Port=80", false },
	{ "NEW:BEST Flags=Detac Port=80", false },
	{ "NEW:BEST Flags=Detach;x Port=80", false },
	{ "NEW:BEST Flag=Detach Port=80", false },
	{ "NEW:BEST XFlags=Detach Port=80", false },
	{ "Flags=Detach", false },                    /* the key argument */
	{ "Flags=Detach Port=80", false },
	{ "NEW:BEST Port=80 Detach", false },         /* tor refuses */
	{ "NEW:BEST Flags=\"Detach\" Port=80", false }, /* tor refuses */
	{ "NEW:BEST Port=80 =Detach Flags=Detach", false }, /* tor refuses */
	{ "", false },
	{ "NEW:BEST", false },
};

START_TEST(test_args_detach)
{
	const char *a = detach_cases[_i].args;

	ck_assert_msg(onions_args_detach(a, strlen(a)) ==
	    detach_cases[_i].detach, "%s", a);
}
END_TEST

/* Detached marks: set on a recorded service only, cleared when it is
 * added again, gone with it; each_detached lists exactly the marked. */
static void
count_detached(void *arg, const char *sid, const char *profile)
{
	(*(int *)arg)++;
	ck_assert_str_eq(profile, "p");
}

START_TEST(test_detached)
{
	onions_t *o = onions_new();
	int n = 0;

	ck_assert(!onions_set_detached(o, "abc", 3, true));
	ck_assert(onions_add(o, "p", "abc", 3));
	ck_assert(onions_add(o, "q", "def", 3));
	ck_assert(!onions_is_detached(o, "abc", 3));
	ck_assert(onions_set_detached(o, "ABC", 3, true));
	ck_assert(onions_is_detached(o, "abc", 3));
	ck_assert(!onions_is_detached(o, "def", 3));
	onions_each_detached(o, count_detached, &n);
	ck_assert_int_eq(n, 1);
	ck_assert(onions_add(o, "p", "abc", 3));
	ck_assert(!onions_is_detached(o, "abc", 3));
	ck_assert(onions_set_detached(o, "abc", 3, true));
	onions_remove(o, "abc", 3);
	ck_assert(!onions_is_detached(o, "abc", 3));
	n = 0;
	onions_each_detached(o, count_detached, &n);
	ck_assert_int_eq(n, 0);
	onions_free(o);
}
END_TEST

/* A service not detached goes with its connection, unless it is no longer
 * that connection's: deleted and made again elsewhere, or detached. */
START_TEST(test_conn)
{
	onions_t *o = onions_new();

	ck_assert(!onions_set_conn(o, "abc", 3, 7));
	ck_assert(onions_add(o, "p", "abc", 3));
	ck_assert(onions_add(o, "p", "def", 3));
	ck_assert(onions_add(o, "p", "ghi", 3));
	ck_assert(!onions_on_conn(o, "abc", 3, 7));
	ck_assert(onions_set_conn(o, "abc", 3, 7));
	ck_assert(onions_set_conn(o, "DEF", 3, 7));
	ck_assert(onions_set_conn(o, "ghi", 3, 7));
	ck_assert(onions_on_conn(o, "ABC", 3, 7));
	ck_assert(!onions_on_conn(o, "abc", 3, 8));
	ck_assert(!onions_on_conn(o, "abc", 3, 0));
	/* def: made again on connection 8 after its deletion */
	onions_remove(o, "def", 3);
	ck_assert(onions_add(o, "q", "def", 3));
	ck_assert(onions_set_conn(o, "def", 3, 8));
	/* ghi: re-added detached */
	ck_assert(onions_add(o, "p", "ghi", 3));
	ck_assert(onions_set_detached(o, "ghi", 3, true));
	ck_assert(!onions_set_conn(o, "ghi", 3, 7));
	/* connection 7 ends */
	ck_assert(onions_forget_conn(o, "abc", 3, 7));
	ck_assert(!onions_forget_conn(o, "def", 3, 7));
	ck_assert(!onions_forget_conn(o, "ghi", 3, 7));
	ck_assert(!onions_owned(o, "p", "abc", 3));
	ck_assert(onions_owned(o, "q", "def", 3));
	ck_assert(onions_owned(o, "p", "ghi", 3));
	ck_assert_uint_eq(onions_count(o), 2);
	ck_assert(onions_forget_conn(o, "def", 3, 8));
	ck_assert_uint_eq(onions_count(o), 1);
	onions_free(o);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("onions");
	TCase *tc = tcase_create("onions");

	tcase_add_loop_test(tc, test_owned_rows, 0,
	    (int)(sizeof(own_cases) / sizeof(own_cases[0])));
	tcase_add_loop_test(tc, test_lengths, 0,
	    (int)(sizeof(len_cases) / sizeof(len_cases[0])));
	tcase_add_test(tc, test_ownership);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_against_model);
	tcase_add_loop_test(tc, test_args_detach, 0,
	    (int)(sizeof(detach_cases) / sizeof(detach_cases[0])));
	tcase_add_test(tc, test_detached);
	tcase_add_test(tc, test_conn);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
