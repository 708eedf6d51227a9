/*
 * guard.h: the built-in rule no profile can switch off: an onion service
 * must never forward to a control listener, tor's (as GETINFO
 * net/listeners/control reports them) or torgate's own.
 *
 * Targets are read exactly as tor reads them, and whatever the guard
 * cannot read is denied (tor would refuse most of it anyway; denying it
 * costs nothing and leaves no gap between two parsers):
 * - ADD_ONION: the positional argument, then tor's kvline (no quoting);
 *   every Port= (any case) is checked.
 * - "VIRTPORT[SEP TARGET]" as hs_parse_port_config() reads it (SEP ','
 *   for ADD_ONION, ' ' for HiddenServicePort): split on SEP once, blanks
 *   trimmed; ports with tor_parse_long() (strtol base 10: leading
 *   whitespace, a sign and leading zeros are fine, 1..65535); no target
 *   means 127.0.0.1:VIRTPORT; a target is unix:PATH or unix:"C-quoted
 *   PATH", or an address (anything with ':' or '.'; a missing port means
 *   VIRTPORT), or a bare port on 127.0.0.1. The target ends at
 *   whitespace or '#', and only blanks or a comment may follow it.
 *
 * A TCP target is refused when its port is a TCP control listener's port
 * and its host is a name (tor resolves names when it reads the option,
 * possibly to loopback: "localhost", "127.1", "0x7f000001"), a loopback,
 * unspecified or 0/8 address (IPv4-mapped forms too), the listener's own
 * address, or the listener listens on every address.
 *
 * A unix target is compared by what it resolves to, not its spelling: the
 * resolver (I/O, supplied by the caller) gives the canonical path and the
 * socket file's device and inode, and a target that is the same file as a
 * unix listener (or resolves to a listener's path) is refused. A target
 * that cannot be resolved (a relative path, which tor resolves against
 * its own working directory; a path that does not exist yet; no resolver)
 * is refused. Because tor follows the path again at every connection, a
 * unix target the client chose (rather than one the profile's replacement
 * wrote) is refused outright unless the profile allows client unix
 * targets (guard_opts_t.client_unix).
 *
 * A stale list refuses every target: once torgate has sent tor a command
 * that may change its control listeners (guard_conf_changes_listeners()),
 * what it knows of them may be out of date (a new "ControlPort auto" has a
 * port only tor knows) until it has read them again on a connection made
 * after the change (guard_targets_mark_stale(), guard_targets_list_fresh();
 * connections are numbered in the order they are opened).
 */
#ifndef TORGATE_GUARD_H
#define TORGATE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Resolve an absolute path to the file it names now; 0, or -1 if it
 * cannot be resolved. */
typedef int (*guard_resolve_fn)(const char *path, addr_file_id_t *out);

typedef struct guard_targets {
	tg_addr_t *v;
	size_t n;
	guard_resolve_fn resolve;   /* NULL: every unix target is refused */
	const char *stale;          /* non-NULL: why every target is refused */
	uint64_t fresh_from;        /* lists learnt by connections numbered
	                             * below this may be out of date */
} guard_targets_t;

/* The reason a stale list gives. */
#define GUARD_STALE_WHY "tor's control listeners are being re-read"

/* What the caller knows about where a command's text came from. */
typedef struct guard_opts {
	bool client_unix;     /* the profile lets clients choose unix: targets */
	const char *fixed;    /* text the profile wrote (the replacement
	                       * template's source), or NULL */
} guard_opts_t;

/* Add an address (tor's or torgate's control listener). */
void guard_targets_add(guard_targets_t *g, const tg_addr_t *a);
/* Parse a GETINFO net/listeners/control value ("a" "b" ...) and add each
 * listener; unparsable entries are skipped. */
void guard_targets_add_tor_list(guard_targets_t *g, const char *value,
    size_t len);
/* Forget the addresses (the resolver and the stale mark stay). */
void guard_targets_clear(guard_targets_t *g);

/* A command that may change tor's listeners was sent (or its reply came
 * back): refuse every target until a list is learnt by a connection
 * numbered next or later (next: the number the next connection gets). */
void guard_targets_mark_stale(guard_targets_t *g, uint64_t next);
/* A list of tor's listeners was learnt by connection number conn: true if
 * it may replace the addresses (conn was opened after the last change),
 * and then the stale mark is cleared; false if it may be out of date. */
bool guard_targets_list_fresh(guard_targets_t *g, uint64_t conn);

/* May SETCONF/RESETCONF arguments args[0..len) change tor's listeners
 * (they name an option torrc.h classes as guarded, or one that may be
 * taken for it, or cannot be read)? LOADCONF always may: it resets what
 * its body leaves out. */
bool guard_conf_changes_listeners(const char *args, size_t len);
/* Is option name key one of tor's control listeners (ControlPort,
 * __ControlPort, ControlSocket, as tor resolves names)? */
bool guard_is_control_listener_option(const char *key);

/* Check one "VIRTPORT[SEP TARGET]" (sep ',' or ' '). true if allowed;
 * else why says what it pointed at or what could not be read. o may be
 * NULL (no client unix targets, nothing fixed). */
bool guard_port_ok(const guard_targets_t *g, const guard_opts_t *o,
    const char *spec, size_t len, char sep, char *why, size_t whylen);

/* Check every Port= of ADD_ONION arguments. */
bool guard_add_onion_ok(const guard_targets_t *g, const guard_opts_t *o,
    const char *args, size_t len, char *why, size_t whylen);

#endif
