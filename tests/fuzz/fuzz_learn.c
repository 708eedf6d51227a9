/*
 * fuzz_learn.c: fuzz learn_pattern() (what --learn writes for a command's
 * arguments) and regex_may_backtrack() (the load-time warning).
 *
 * The input is a command's arguments. The learnt pattern must compile and
 * must match the arguments it was learnt from, whatever they hold: a
 * suggested profile that does not allow what the client sent, or does not
 * load, is a bug. A NUL cannot reach learn_pattern (the command reader
 * rejects it), so inputs with one are skipped. Then the heuristic runs on
 * the learnt pattern and, if the input compiles as a pattern itself, on
 * that too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *args = (const char *)data;
	char err[256], why[128];
	size_t off;
	char *pat;
	tg_regex_t *re;

	if (size > 4096 || memchr(data, '\0', size) != NULL ||
	    memchr(data, '\n', size) != NULL || memchr(data, '\r', size) != NULL)
		return 0;
	pat = learn_pattern(args, size);
	re = regex_compile(pat, strlen(pat), err, sizeof(err), &off);
	if (re == NULL)
		abort();        /* a learnt pattern that does not compile */
	if (regex_exec(re, args, size, NULL) == REGEX_NOMATCH)
		abort();        /* ... or does not allow what it came from */
	(void)regex_may_backtrack(re, why, sizeof(why));
	regex_free(re);
	free(pat);
	re = regex_compile(args, size, err, sizeof(err), &off);
	if (re != NULL) {
		(void)regex_may_backtrack(re, why, sizeof(why));
		regex_free(re);
	}
	return 0;
}
