/*
 * profile_yaml.h: YAML scalar typing for the profile loader (internal to
 * the profile module; see profile_yaml.c).
 */
#ifndef TORGATE_PROFILE_YAML_H
#define TORGATE_PROFILE_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* What a node holds, as PyYAML's safe loader would construct it. */
typedef enum {
	Y_NULL,
	Y_BOOL,
	Y_INT,
	Y_FLOAT,
	Y_DATE,
	Y_STR,
	Y_SEQ,
	Y_MAP,
	Y_OTHER,
} ytype_t;

/* Return the type PyYAML's safe loader would give node n. */
ytype_t ytype_of(const yaml_node_t *n);

/* Return a phrase naming t for messages ("a string", "null", ...). */
const char *ytype_name(ytype_t t);

/* Parse s[0..len) as a YAML 1.1 boolean (yes/no, true/false, on/off, in
 * lower, Title or UPPER case) into *value. Return false, leaving *value
 * alone, if s is none. */
bool ytype_bool(const char *s, size_t len, bool *value);

/* The number of items of sequence node n. */
static inline size_t
seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

/* The number of pairs of mapping node n. */
static inline size_t
map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start);
}

#endif
