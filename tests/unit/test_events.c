/*
 * test_events.c: SETEVENTS under a profile and restrict-stream-events
 * ownership (src/events.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "profile.h"

static const char yaml[] =
"- name: e\n"
"  events:\n"
"    STREAM:\n"
"    CIRC:\n"
"    SIGNAL: {suppress: true}\n"
"    conf_changed:\n";

static profile_set_t *set;

static void
setup(void)
{
	profile_diag_t d = { 0 };
	set = profile_set_load_buffer("e.yml", yaml, strlen(yaml), &d);
	ck_assert_ptr_nonnull(set);
}

static void
teardown(void)
{
	profile_set_unref(set);
}

static const struct {
	const char *args;
	int rc;
	const char *upstream;   /* what tor is asked */
	event_mask_t internal;
} se_cases[] = {
	{ "STREAM", 0, "STREAM", 0 },
	{ "stream Circ", 0, "CIRC STREAM", 0 },
	{ "SIGNAL", 0, "", 0 },                         /* suppressed */
	{ "SIGNAL CONF_CHANGED", 0, "CONF_CHANGED", 0 },
	{ "", 0, "", 0 },                               /* clears */
	{ "", 0, "STREAM", EVMASK(TEV_STREAM) },        /* internal kept */
	{ "SIGNAL", 0, "STREAM", EVMASK(TEV_STREAM) },
	{ "EXTENDED STREAM", 0, "EXTENDED STREAM", 0 },
	{ "BW", -1, NULL, 0 },                          /* not listed */
	{ "STREAM BW", -1, NULL, 0 },                   /* one is enough */
	{ "FOO", -1, NULL, 0 },
	{ "STREAM\tCIRC", -1, NULL, 0 },                /* one word, as tor */
};

START_TEST(test_setevents)
{
	setevents_t se;
	int rc = events_setevents(set->v[0], se_cases[_i].args,
	    strlen(se_cases[_i].args), se_cases[_i].internal, &se);

	ck_assert_int_eq(rc, se_cases[_i].rc);
	if (rc == 0) {
		ck_assert_str_eq(se.upstream_args, se_cases[_i].upstream);
		/* What is restored on a new tor is what was asked. */
		ck_assert_uint_eq(events_mask_of_args(se.upstream_args,
		    se.upstream_len), se.upstream);
		free(se.upstream_args);
	} else {
		ck_assert_ptr_nonnull(se.why);
	}
}
END_TEST

START_TEST(test_event_of_line)
{
	ck_assert_int_eq(event_of_line("650 STREAM 1 NEW 0 x:1", 22),
	    TEV_STREAM);
	ck_assert_int_eq(event_of_line("650-CONF_CHANGED", 16),
	    TEV_CONF_CHANGED);
	ck_assert_int_eq(event_of_line("650+NS", 6), TEV_NS);
	ck_assert_int_eq(event_of_line("650 NOPE x", 10), -1);
	ck_assert_int_eq(event_of_line("650", 3), -1);
}
END_TEST

static bool
own(void *arg, const char *source, const char *target)
{
	(void)arg;
	return source != NULL && strcmp(source, "10.0.0.2:5555") == 0;
}

START_TEST(test_restrict)
{
	owned_t *o = calloc(1, sizeof(*o));
	uint64_t circ = 0;
#define R(l) events_restrict(o, own, NULL, l, strlen(l), &circ)

	ck_assert_int_eq(R("650 STREAM 7 NEW 0 a.com:80 SOURCE_ADDR=10.0.0.2:5555"
	    " PURPOSE=USER"), RESTRICT_PASS);
	ck_assert_int_eq(R("650 STREAM 8 NEW 0 b.com:80 SOURCE_ADDR=10.0.0.3:1"),
	    RESTRICT_DROP);
	ck_assert_int_eq(R("650 STREAM 7 SENTCONNECT 12 a.com:80"),
	    RESTRICT_PASS);
	ck_assert(owned_has_circ(o, 12));
	ck_assert_int_eq(R("650 STREAM 8 SENTCONNECT 13 b.com:80"),
	    RESTRICT_DROP);
	ck_assert_int_eq(R("650 CIRC 12 EXTENDED $AA~a"), RESTRICT_PASS);
	ck_assert_int_eq(R("650 CIRC 13 EXTENDED $AA~a"), RESTRICT_DROP);
	ck_assert_int_eq(R("650 CIRC 13 CLOSED $AA~a REASON=FINISHED"),
	    RESTRICT_STRIP);
	ck_assert_int_eq(circ, 13);
	ck_assert_int_eq(R("650 STREAM 7 CLOSED 12 a.com:80"), RESTRICT_PASS);
	ck_assert(!owned_has_stream(o, 7));
	/* A stream never seen as new is never the client's. */
	ck_assert_int_eq(R("650 STREAM 9 SUCCEEDED 12 a.com:80"),
	    RESTRICT_DROP);
	ck_assert_int_eq(R("650 STREAM x NEW"), RESTRICT_DROP);
	free(o);
#undef R
}
END_TEST

/* The ownership sets are bounded: the oldest entries go first. */
/* SETEVENTS arguments back to a mask: EXTENDED and unknown names left
 * out, names as tor spells them in any case. */
static const struct {
	const char *args;
	event_mask_t mask;
} mask_cases[] = {
	{ "", 0 },
	{ "   ", 0 },
	{ "STREAM", EVMASK(TEV_STREAM) },
	{ "EXTENDED STREAM CIRC", EVMASK(TEV_STREAM) | EVMASK(TEV_CIRC) },
	{ "circ  stream ", EVMASK(TEV_STREAM) | EVMASK(TEV_CIRC) },
	{ "FOO STREAM", EVMASK(TEV_STREAM) },
	{ "STREAMX", 0 },
};

START_TEST(test_mask_of_args)
{
	ck_assert_uint_eq(events_mask_of_args(mask_cases[_i].args,
	    strlen(mask_cases[_i].args)), mask_cases[_i].mask);
}
END_TEST

/* Every event, there and back. */
START_TEST(test_mask_round_trip)
{
	event_mask_t all = 0;
	size_t n;
	char *args;

	for (int i = 0; i < TEV_COUNT; i++)
		all |= EVMASK(i);
	args = events_mask_args(all, &n);
	ck_assert_uint_eq(events_mask_of_args(args, n), all);
	free(args);
}
END_TEST

START_TEST(test_restrict_bounded)
{
	owned_t *o = calloc(1, sizeof(*o));
	uint64_t circ;
	char line[128];

	for (unsigned i = 0; i < OWNED_MAX + 10; i++) {
		snprintf(line, sizeof(line), "650 STREAM %u NEW 0 a:1 "
		    "SOURCE_ADDR=10.0.0.2:5555", i + 1);
		events_restrict(o, own, NULL, line, strlen(line), &circ);
	}
	ck_assert_uint_eq(o->n_streams, OWNED_MAX);
	ck_assert(!owned_has_stream(o, 1));
	ck_assert(owned_has_stream(o, OWNED_MAX + 10));
	free(o);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_setevents, 0,
	    (int)(sizeof(se_cases) / sizeof(se_cases[0])));
	tcase_add_test(tc, test_event_of_line);
	tcase_add_test(tc, test_restrict);
	tcase_add_test(tc, test_restrict_bounded);
	tcase_add_loop_test(tc, test_mask_of_args, 0,
	    (int)(sizeof(mask_cases) / sizeof(mask_cases[0])));
	tcase_add_test(tc, test_mask_round_trip);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
