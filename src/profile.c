/*
 * profile.c: the lifecycle of a profile set (profile.h): an empty set,
 * reference counting, freeing, and finding profiles, events and confs in
 * a set; also the diag sink every loading problem goes through.
 *
 * Loading is split by concern, all behind profile.h:
 * - profile_files.c reads profile files and directories (the only I/O of
 *   the module) and hands each file's bytes to the schema walk;
 * - profile_schema.c walks a YAML document against the schema of a
 *   profile, compiles patterns and templates, and reports FILE:LINE:COL;
 * - profile_yaml.c types YAML scalars as PyYAML does.
 * A set is immutable once loaded: sessions share it by reference counting
 * alone, and the last unref frees it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "profile_impl.h"
#include "util.h"

static char empty_name[] = "(none)";
static profile_t empty_profile = { .name = empty_name };

void
profile_vdiag(profile_diag_t *d, bool is_error, const char *file,
    unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char msg[4096];         /* a collision names up to 16 profiles */

	if (d == NULL)
		return;
	if (is_error)
		d->errors++;
	else
		d->warnings++;
	if (d->report == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d->report(d->arg, is_error, file, line, col, msg);
}

void
profile_diag(profile_diag_t *d, bool is_error, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	profile_vdiag(d, is_error, file, line, col, fmt, ap);
	va_end(ap);
}

static void
line_rules_free(line_rules_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		regex_free(l->v[i].re);
		template_free(l->v[i].replacement);
	}
	FREE(l->v);
	l->n = 0;
}

void
profile_cmd_rule_clear(cmd_rule_t *r)
{
	regex_free(r->re);
	template_free(r->replacement);
	line_rules_free(&r->response);
	r->re = NULL;
	r->replacement = NULL;
}

void
profile_cmd_rules_free(cmd_rules_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		profile_cmd_rule_clear(&c->v[i]);
	FREE(c->v);
	c->n = 0;
}

static void
strlist_free(strlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	FREE(l->v);
	l->n = 0;
}

void
profile_free(profile_t *p)
{
	if (p == NULL)
		return;
	free(p->name);
	strlist_free(&p->apparmor_profiles);
	strlist_free(&p->users);
	strlist_free(&p->hosts);
	for (size_t i = 0; i < CMD_COUNT; i++)
		profile_cmd_rules_free(&p->cmds[i]);
	for (size_t i = 0; i < p->n_confs; i++) {
		free(p->confs[i].key);
		for (size_t j = 0; j < p->confs[i].n_values; j++)
			regex_free(p->confs[i].values[j]);
		free(p->confs[i].values);
	}
	free(p->confs);
	for (size_t i = 0; i < p->n_events; i++) {
		free(p->events[i].name);
		line_rules_free(&p->events[i].response);
	}
	free(p->events);
	free(p);
}

profile_set_t *
profile_set_new_empty(void)
{
	profile_set_t *s = xzalloc(sizeof(*s));

	s->refcnt = 1;
	return s;
}

profile_set_t *
profile_set_ref(profile_set_t *s)
{
	if (s->refcnt == UINT_MAX)
		fatalx("profile_set_ref: reference count overflow");
	s->refcnt++;
	return s;
}

void
profile_set_unref(profile_set_t *s)
{
	if (s == NULL || --s->refcnt > 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		profile_free(s->v[i]);
	free(s->v);
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
}

const profile_t *
profile_set_find(const profile_set_t *s, const char *name)
{
	if (s == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i]->name, name) == 0)
			return s->v[i];
	return NULL;
}

const profile_t *
profile_empty(void)
{
	return &empty_profile;
}

const event_rule_t *
profile_find_event(const profile_t *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->n_events; i++)
		if (strn_case_eq(name, len, p->events[i].name))
			return &p->events[i];
	return NULL;
}

const conf_rule_t *
profile_find_conf(const profile_t *p, const char *key, size_t len)
{
	for (size_t i = 0; i < p->n_confs; i++)
		if (strn_case_eq(key, len, p->confs[i].key))
			return &p->confs[i];
	return NULL;
}
