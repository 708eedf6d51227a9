/*
 * profile_impl.h: what the files of the profile module share (internal;
 * callers use profile.h). profile.c owns a set's lifecycle,
 * profile_schema.c fills a set from YAML documents through a builder,
 * profile_files.c reads the files and hands each buffer to the builder.
 */
#ifndef TORGATE_PROFILE_IMPL_H
#define TORGATE_PROFILE_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

#define PROFILE_MAX_FILE	(1024 * 1024)	/* bytes per file */

/* A set being assembled from files. */
struct profile_builder {
	profile_set_t *set;
	size_t cap;                /* of set->v */
	profile_diag_t *d;
};

/* Start b on a new empty set; problems go to d (not NULL). */
void profile_builder_init(struct profile_builder *b, profile_diag_t *d);

/* Load the profiles of buf[0..len), read from file, into b's set; report
 * every problem through b's sink. buf need not be NUL-terminated. */
void profile_builder_load(struct profile_builder *b, const char *file,
    const char *buf, size_t len);

/* Return the set built, or NULL (the set freed) if errors were reported
 * since the sink counted errors0. */
profile_set_t *profile_builder_finish(struct profile_builder *b,
    unsigned errors0);

/* profile_diag() with a va_list. */
void profile_vdiag(profile_diag_t *d, bool is_error, const char *file,
    unsigned line, unsigned col, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* Free p and everything it owns; NULL is fine. */
void profile_free(profile_t *p);

/* Release what r owns (its regex, template and response rules) and
 * leave it empty. */
void profile_cmd_rule_clear(cmd_rule_t *r);

/* Release every rule of c and the array; leave c empty. */
void profile_cmd_rules_free(cmd_rules_t *c);

#endif
