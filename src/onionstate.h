/*
 * onionstate.h: who owns which detached onion service, kept in a small
 * file so that it survives a restart of torgate while tor keeps running.
 *
 * A service created with ADD_ONION ... Flags=Detach lives on in tor after
 * its control connection (and torgate) is gone. Without this file a
 * restarted torgate would not know which profile created it, and the
 * application could never DEL_ONION it (and so never publish the same key
 * again) until tor restarts.
 *
 * The file holds no secrets: service IDs (public), profile names, and an
 * identity of the tor instance the entries belong to (its version, process
 * id and a one-way digest of its cookie; never the cookie or a key). Its
 * format, version 1, is line-based, every line ending in LF:
 *
 *   torgate-onions 1
 *   tor TOKEN
 *   onion SERVICEID PROFILE      (0 to ONIONSTATE_MAX lines)
 *   end
 *
 * SERVICEID is 1 to ONIONSTATE_SID_MAX letters and digits, unique (in any
 * case). TOKEN and PROFILE are 1 to ONIONSTATE_NAME_MAX bytes, written with
 * every byte outside '!'..'~', and '%', as %XX (upper-case hex): exactly
 * one spelling per value, so parsing and writing again gives the same
 * bytes. Anything else (another version, a missing "end", a stray byte) is
 * rejected whole: a file torgate cannot read owns nothing.
 *
 * onionstate.c is the format (no I/O, unit-tested and fuzzed);
 * onionstate_file.c reads and writes the file, the module's only I/O.
 */
#ifndef TORGATE_ONIONSTATE_H
#define TORGATE_ONIONSTATE_H

#include <stddef.h>

#include "onions.h"

#define ONIONSTATE_VERSION 1
/* The same bound as the ownership table. */
#define ONIONSTATE_MAX ONIONS_MAX
/* Longest service ID (a v3 ID has 56 characters; the table's bound). */
#define ONIONSTATE_SID_MAX 128
/* Longest profile name or tor identity, decoded (a file name's NAME_MAX). */
#define ONIONSTATE_NAME_MAX 255
/* Longest line: "onion " + ID + " " + a name of which every byte is
 * written as %XX, with room to spare. */
#define ONIONSTATE_LINE_MAX 1024
/* Largest file read: what ONIONSTATE_MAX entries of the longest lines and
 * the three other lines take. */
#define ONIONSTATE_MAX_BYTES \
	(((size_t)ONIONSTATE_MAX + 3) * ONIONSTATE_LINE_MAX)

/* The file's name in the state directory. */
#define ONIONSTATE_FILE "detached-onions"

typedef struct onionstate_entry {
	char *sid;
	char *profile;
} onionstate_entry_t;

typedef struct onionstate {
	char *tor;              /* the tor instance, or NULL */
	onionstate_entry_t *v;
	size_t n, cap;
} onionstate_t;

void onionstate_init(onionstate_t *st);
void onionstate_clear(onionstate_t *st);

/* Set the tor identity; -1 if it cannot be written (empty or longer than
 * ONIONSTATE_NAME_MAX). */
int onionstate_set_tor(onionstate_t *st, const char *tor);
/* Add an entry; -1 if it cannot be written (see the format above) or
 * ONIONSTATE_MAX entries are already there. Uniqueness is the caller's
 * (onions.c's table has one entry per service). */
int onionstate_add(onionstate_t *st, const char *sid, const char *profile);

/* Parse buf[0..len) into st (initialised by the caller, empty). 0, or -1
 * with st empty and why set ("line N: what"). Never reads past len. */
int onionstate_parse(const char *buf, size_t len, onionstate_t *st,
    char *why, size_t whylen);
/* The file's text for st (st->tor set); *len set. The caller frees it. */
char *onionstate_format(const onionstate_t *st, size_t *len);

/* ---- onionstate_file.c ---------------------------------------------------
 *
 * The file is DIR/ONIONSTATE_FILE, mode 0600, owned by torgate's user. */

typedef enum {
	ONIONSTATE_LOADED,      /* st holds the file */
	ONIONSTATE_ABSENT,      /* no file yet */
	ONIONSTATE_BAD,         /* unreadable, unsafe or corrupt: why says */
} onionstate_load_t;

/* Read DIR's file into st (initialised, empty). A file that is not a
 * regular file owned by this user, is writable by others, is larger than
 * ONIONSTATE_MAX_BYTES or does not parse is ONIONSTATE_BAD (st empty). */
onionstate_load_t onionstate_load(const char *dir, onionstate_t *st,
    char *why, size_t whylen);

/* Replace DIR's file with st, atomically: a temporary file in DIR (0600),
 * written, fsync'd, renamed over the old one, then DIR fsync'd. 0, or -1
 * with why set (the old file is then left as it was). */
int onionstate_save(const char *dir, const onionstate_t *st, char *why,
    size_t whylen);

#endif
