/*
 * test_events.c: SETEVENTS under a profile, restrict-stream-events
 * ownership and restrict-onion-events (src/events.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* a number past 64 bits is no id of tor's */
	ck_assert_int_eq(R("650 STREAM 18446744073709551616 NEW 0 a.com:80 "
	    "SOURCE_ADDR=10.0.0.2:5555"), RESTRICT_DROP);
	ck_assert_int_eq(R("650 STREAM 18446744073709551615 NEW 0 a.com:80 "
	    "SOURCE_ADDR=10.0.0.2:5555"), RESTRICT_PASS);
	ck_assert_int_eq(R("650 STREAM 20 NEW 99999999999999999999 a.com:80 "
	    "SOURCE_ADDR=10.0.0.2:5555"), RESTRICT_PASS);
	ck_assert(!owned_has_circ(o, UINT64_MAX));
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

/* ---- restrict-onion-events ---- */

#define OWN   "cccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define OWNUP "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
#define FETCHED "ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define OTHER "oooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
#define DIR   "$DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD~dir"

/* The client's profile created OWN; it HSFETCHed FETCHED. */
static bool
own_onion(void *arg, const char *addr, size_t len, bool fetch)
{
	(void)arg;
	if (len == 56 && strncasecmp(addr, OWN, len) == 0)
		return true;
	return fetch && len == 56 && strncasecmp(addr, FETCHED, len) == 0;
}

/* Events as tor writes them (control_events.c), and whether the client
 * sees them. */
static const struct {
	const char *line;
	bool seen;
} onion_cases[] = {
	/* its own service: every event */
	{ "650 HS_DESC CREATED " OWN " UNKNOWN UNKNOWN descid", true },
	{ "650 HS_DESC UPLOAD " OWN " UNKNOWN " DIR " descid HSDIR_INDEX=00",
	  true },
	{ "650 HS_DESC UPLOADED " OWN " UNKNOWN " DIR, true },
	{ "650 HS_DESC FAILED " OWN " UNKNOWN " DIR " REASON=UPLOAD_REJECTED",
	  true },
	{ "650 HS_DESC REQUESTED " OWN " NO_AUTH " DIR " descid", true },
	{ "650 HS_DESC CREATED " OWNUP " UNKNOWN UNKNOWN descid", true },
	{ "650+HS_DESC_CONTENT " OWN " descid " DIR, true },
	/* another application's service: nothing */
	{ "650 HS_DESC CREATED " OTHER " UNKNOWN UNKNOWN descid", false },
	{ "650 HS_DESC UPLOAD " OTHER " UNKNOWN " DIR " descid", false },
	{ "650 HS_DESC UPLOADED " OTHER " UNKNOWN " DIR, false },
	{ "650 HS_DESC REQUESTED " OTHER " NO_AUTH " DIR " d HSDIR_INDEX=0",
	  false },
	{ "650 HS_DESC RECEIVED " OTHER " NO_AUTH " DIR " descid", false },
	{ "650+HS_DESC_CONTENT " OTHER " descid " DIR, false },
	/* an address it fetched: the fetch's events only */
	{ "650 HS_DESC REQUESTED " FETCHED " NO_AUTH " DIR " d HSDIR_INDEX=0",
	  true },
	{ "650 HS_DESC RECEIVED " FETCHED " NO_AUTH " DIR " descid", true },
	{ "650 HS_DESC FAILED " FETCHED " NO_AUTH " DIR " d REASON=NOT_FOUND",
	  true },
	{ "650 HS_DESC FAILED " FETCHED " NO_AUTH UNKNOWN d REASON=QUERY_"
	  "NO_HSDIR", true },
	{ "650+HS_DESC_CONTENT " FETCHED " descid " DIR, true },
	{ "650 HS_DESC CREATED " FETCHED " UNKNOWN UNKNOWN descid", false },
	{ "650 HS_DESC UPLOAD " FETCHED " UNKNOWN " DIR " descid", false },
	{ "650 HS_DESC UPLOADED " FETCHED " UNKNOWN " DIR, false },
	{ "650 HS_DESC FAILED " FETCHED " UNKNOWN " DIR " REASON=UPLOAD_"
	  "REJECTED", false },
	{ "650 HS_DESC IGNORE " FETCHED " NO_AUTH " DIR, false },
	/* what cannot be read is nobody's */
	{ "650 HS_DESC REQUESTED UNKNOWN NO_AUTH " DIR " descid", false },
	{ "650 HS_DESC CREATED " OWN ".onion UNKNOWN UNKNOWN d", false },
	{ "650 HS_DESC CREATED " OWN "c UNKNOWN UNKNOWN d", false },
	{ "650 HS_DESC CREATED ccccccccccccccccccccccccccccccccccccccccccccccc"
	  "cccccccc1 UNKNOWN UNKNOWN d", false },
	{ "650 HS_DESC CREATED  " OWN " UNKNOWN UNKNOWN d", false },
	{ "650 HS_DESC CREATED " OWN, false },
	{ "650 HS_DESC CREATED " OWN " ", false },
	{ "650 HS_DESC " OWN " UNKNOWN", false },
	{ "650 HS_DESC", false },
	{ "650 HS_DESC ", false },
	{ "650 hs_desc CREATED " OWN " UNKNOWN UNKNOWN d", false },
	{ "650-HS_DESC CREATED " OWN " UNKNOWN UNKNOWN d", false },
	{ "650+HS_DESC CREATED " OWN " UNKNOWN UNKNOWN d", false },
	{ "650 HS_DESC_CONTENT " OWN " descid " DIR, false },
	{ "650+HS_DESC_CONTENT UNKNOWN descid " DIR, false },
	{ "650+HS_DESC_CONTENT", false },
	{ "650+HS_DESC_CONTENT ", false },
	{ "650 HS_DESC	CREATED " OWN " UNKNOWN UNKNOWN d", false },
};

START_TEST(test_onion_own)
{
	const char *l = onion_cases[_i].line;

	ck_assert_msg(events_onion_is_own(own_onion, NULL, l, strlen(l)) ==
	    onion_cases[_i].seen, "%s", l);
}
END_TEST

/* The address is the field tor writes it in, pointing into the line. */
START_TEST(test_onion_event_fields)
{
	static const char l[] = "650 HS_DESC UPLOADED " OTHER " UNKNOWN " DIR;
	static const char nul[] = "650 HS_DESC CREATED " OWN " UNKNOWN x d";
	char with_nul[sizeof(nul)];
	const char *a;
	size_t n;
	bool fetch = true;

	ck_assert(events_onion_event(l, strlen(l), &a, &n, &fetch));
	ck_assert_ptr_eq(a, l + 21);
	ck_assert_uint_eq(n, 56);
	ck_assert(!fetch);
	/* a NUL inside is not a line tor writes */
	memcpy(with_nul, nul, sizeof(nul));
	with_nul[sizeof(nul) - 4] = '\0';
	ck_assert(events_onion_event(nul, sizeof(nul) - 1, &a, &n, &fetch));
	ck_assert(!events_onion_event(with_nul, sizeof(nul) - 1, &a, &n,
	    &fetch));
	/* only as long as len says */
	ck_assert(!events_onion_event(l, 40, &a, &n, &fetch));
	ck_assert(events_is_onion_address(OWNUP, 56));
	ck_assert(!events_is_onion_address(OWN, 55));
	ck_assert(!events_is_onion_address("0" OWN, 56));
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
	tcase_add_loop_test(tc, test_onion_own, 0,
	    (int)(sizeof(onion_cases) / sizeof(onion_cases[0])));
	tcase_add_test(tc, test_onion_event_fields);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
