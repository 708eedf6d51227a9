/*
 * guard.h: the built-in rule no profile can switch off: an onion service
 * must never expose a control port. ADD_ONION "Port=VIRTPORT[,TARGET]"
 * (every one, keyword in any case) and HiddenServicePort values (SETCONF,
 * LOADCONF) are parsed as tor parses them (hs_parse_port_config: a bare
 * port means 127.0.0.1, an address without port means the virtual port)
 * and refused when the target is one of tor's control listeners (as
 * GETINFO net/listeners/control reports them) or one of torgate's own.
 *
 * A TCP target is refused when its port is a control listener's port and
 * its host is a name (tor may resolve it to anything), a loopback or
 * unspecified address, or the listener's own address, or the listener
 * listens on every address. A unix target is refused when its normalised
 * path is a control socket's.
 */
#ifndef TORGATE_GUARD_H
#define TORGATE_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

typedef struct guard_targets {
	tg_addr_t *v;
	size_t n;
} guard_targets_t;

/* Add an address (tor's or torgate's control listener). */
void guard_targets_add(guard_targets_t *g, const tg_addr_t *a);
/* Parse a GETINFO net/listeners/control value ("a" "b" ...) and add each
 * listener; unparsable entries are skipped. */
void guard_targets_add_tor_list(guard_targets_t *g, const char *value,
    size_t len);
void guard_targets_clear(guard_targets_t *g);

/* Check one "VIRTPORT[,TARGET]" (sep ',') or "VIRTPORT [TARGET]"
 * (sep ' '). true if allowed; else why says what it pointed at. */
bool guard_port_ok(const guard_targets_t *g, const char *spec, size_t len,
    char sep, char *why, size_t whylen);

/* Check every Port= of ADD_ONION arguments. */
bool guard_add_onion_ok(const guard_targets_t *g, const char *args,
    size_t len, char *why, size_t whylen);

/* Check every HiddenServicePort line of a torrc text (LOADCONF body). */
bool guard_torrc_ok(const guard_targets_t *g, const char *text, size_t len,
    char *why, size_t whylen);

#endif
