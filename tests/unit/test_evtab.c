/*
 * test_evtab.c: the table of tor's event names (src/evtab.c).
 */
#include "tg_check.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "evtab.h"

/* The binary search needs the rows sorted the way it compares them. */
START_TEST(test_sorted)
{
	for (int i = 1; i < TEV_COUNT; i++)
		ck_assert_msg(strcmp(event_name(i - 1), event_name(i)) < 0,
		    "%s before %s", event_name(i - 1), event_name(i));
}
END_TEST

/* Every name is found in upper, lower and mixed case, and names its id. */
START_TEST(test_every_name_round_trips)
{
	ck_assert_int_le(TEV_COUNT, 64);
	for (int i = 0; i < TEV_COUNT; i++) {
		const char *n = event_name(i);
		char lower[64], mixed[64];
		size_t len = strlen(n);

		ck_assert_uint_lt(len, sizeof(lower));
		for (size_t j = 0; j <= len; j++) {
			lower[j] = (char)tolower((unsigned char)n[j]);
			mixed[j] = j % 2 ? lower[j] : n[j];
		}
		ck_assert_int_eq(event_lookup(n, len), i);
		ck_assert_int_eq(event_lookup(lower, len), i);
		ck_assert_int_eq(event_lookup(mixed, len), i);
		/* A proper prefix of a name is not that name. */
		ck_assert_int_ne(event_lookup(n, len - 1), i);
	}
}
END_TEST

static const struct {
	const char *name;
	int want;           /* -1: unknown */
} lookups[] = {
	{ "STREAM", TEV_STREAM },
	{ "stream", TEV_STREAM },
	{ "Stream", TEV_STREAM },
	{ "STREAM_BW", TEV_STREAM_BW },
	{ "stream_bw", TEV_STREAM_BW },
	{ "CIRC", TEV_CIRC },
	{ "circ_minor", TEV_CIRC_MINOR },
	{ "ADDRMAP", TEV_ADDRMAP },         /* first row */
	{ "WARN", TEV_WARN },               /* last row */
	{ "transport_launched", TEV_TRANSPORT_LAUNCHED },
	{ "hs_desc_content", TEV_HS_DESC_CONTENT },
	{ "STREA", -1 },
	{ "STREAMS", -1 },
	{ "STREAM_", -1 },
	{ "STREAM ", -1 },
	{ "CIRC BW", -1 },
	{ "CIRC-BW", -1 },
	{ "AAA", -1 },                      /* before the first row */
	{ "ZZZ", -1 },                      /* after the last row */
	{ "_", -1 },
	{ "NOPE", -1 },
	{ "EXTENDED", -1 },                 /* a SETEVENTS flag, no event */
	{ "", -1 },
	{ "TRANSPORT_LAUNCHED_AND_A_VERY_LONG_TAIL_X", -1 },
	{ "\xc3\x9fTREAM", -1 },
};

START_TEST(test_lookup)
{
	ck_assert_msg(event_lookup(lookups[_i].name,
	    strlen(lookups[_i].name)) == lookups[_i].want, "'%s'",
	    lookups[_i].name);
}
END_TEST

/* A name with a NUL never matches (and never reads past a name). */
START_TEST(test_nul_in_name)
{
	static const char n[] = "NS\0XYZXYZXYZXYZXYZXYZXYZXYZXYZXYZXYZ";
	ck_assert_int_eq(event_lookup(n, sizeof(n) - 1), -1);
	ck_assert_int_eq(event_lookup("NS\0", 3), -1);
	ck_assert_int_eq(event_lookup("\0NS", 3), -1);
	ck_assert_int_eq(event_lookup("NS", 2), TEV_NS);
}
END_TEST

START_TEST(test_event_name)
{
	ck_assert_str_eq(event_name(TEV_ADDRMAP), "ADDRMAP");
	ck_assert_str_eq(event_name(TEV_STREAM), "STREAM");
	ck_assert_str_eq(event_name(TEV_WARN), "WARN");
	ck_assert_str_eq(event_name(TEV_COUNT), "?");
	ck_assert_str_eq(event_name((event_id_t)-1), "?");
}
END_TEST

static const struct {
	const char *line;
	int want;
} lines[] = {
	{ "650 STREAM 1 NEW 0 x:1", TEV_STREAM },
	{ "650 STREAM", TEV_STREAM },
	{ "650 STREAM\r\n", TEV_STREAM },
	{ "650 stream 1 NEW", TEV_STREAM },
	{ "650-CONF_CHANGED", TEV_CONF_CHANGED },
	{ "650-CONF_CHANGED\r\n", TEV_CONF_CHANGED },
	{ "650+NS", TEV_NS },
	{ "650+NS\r\n", TEV_NS },
	{ "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED",
	    TEV_STATUS_CLIENT },
	{ "650-STATUS_GENERAL=x", TEV_STATUS_GENERAL },
	{ "650 STREAM_BW 1 2 3", TEV_STREAM_BW },
	{ "650 NOPE x", -1 },
	{ "650 STREAMX 1", -1 },
	{ "650  STREAM", -1 },          /* empty name before the space */
	{ "650 \r\n", -1 },
	{ "650 ", -1 },                 /* too short */
	{ "650", -1 },
	{ "65", -1 },
	{ "", -1 },
	{ "650 W", -1 },
};

START_TEST(test_event_of_line)
{
	ck_assert_msg(event_of_line(lines[_i].line,
	    strlen(lines[_i].line)) == lines[_i].want, "'%s'",
	    lines[_i].line);
}
END_TEST

/* The length bounds the line: bytes past it are never read as the name. */
START_TEST(test_event_of_line_bounded)
{
	ck_assert_int_eq(event_of_line("650 STREAM_BW", 10), TEV_STREAM);
	ck_assert_int_eq(event_of_line("650 NSX", 6), TEV_NS);
	ck_assert_int_eq(event_of_line("650 NS", 4), -1);
	ck_assert_int_eq(event_of_line("650 NS", 0), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("evtab");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_sorted);
	tcase_add_test(tc, test_every_name_round_trips);
	tcase_add_loop_test(tc, test_lookup, 0,
	    (int)(sizeof(lookups) / sizeof(lookups[0])));
	tcase_add_test(tc, test_nul_in_name);
	tcase_add_test(tc, test_event_name);
	tcase_add_loop_test(tc, test_event_of_line, 0,
	    (int)(sizeof(lines) / sizeof(lines[0])));
	tcase_add_test(tc, test_event_of_line_bounded);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
