/*
 * evtab.h: the asynchronous events tor knows (control-spec section 4.1),
 * as one X-macro list beside the command table (cmdtab.h). The enum, the
 * names and the lookup are generated from EVENT_LIST, so they cannot drift
 * apart; every other module (events, profile, session) names events
 * through here.
 */
#ifndef TORGATE_EVTAB_H
#define TORGATE_EVTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Keep sorted (byte order of the upper-case names): event_lookup() is a
 * binary search over this order, and tests/unit/test_evtab.c checks it.
 * At most 64 events, for event_mask_t.
 */
#define EVENT_LIST(X)                                                   \
	X(ADDRMAP) X(AUTHDIR_NEWDESCS) X(BUILDTIMEOUT_SET) X(BW)        \
	X(CELL_STATS) X(CIRC) X(CIRC_BW) X(CIRC_MINOR) X(CLIENTS_SEEN)  \
	X(CONF_CHANGED) X(CONN_BW) X(DEBUG) X(DESCCHANGED) X(ERR)       \
	X(GUARD) X(HS_DESC) X(HS_DESC_CONTENT) X(INFO)                  \
	X(NETWORK_LIVENESS) X(NEWCONSENSUS) X(NEWDESC) X(NOTICE) X(NS)  \
	X(ORCONN) X(PT_LOG) X(PT_STATUS) X(SIGNAL) X(STATUS_CLIENT)     \
	X(STATUS_GENERAL) X(STATUS_SERVER) X(STREAM) X(STREAM_BW)       \
	X(TB_EMPTY) X(TRANSPORT_LAUNCHED) X(WARN)

typedef enum {
#define EVENT_ENUM(n) TEV_##n,
	EVENT_LIST(EVENT_ENUM)
#undef EVENT_ENUM
	TEV_COUNT
} event_id_t;

/* A set of events, one bit per event_id_t. */
typedef uint64_t event_mask_t;
#define EVMASK(id) ((event_mask_t)1 << (id))

/* Return the event id for name[0..len) in any case, or -1 when tor has no
 * such event (a name holding a NUL byte never matches). */
int event_lookup(const char *name, size_t len);

/* Return the upper-case name of id (static storage), or "?" when id is
 * out of range. */
const char *event_name(event_id_t id);

/* Return the event an event message's first line ("650 NAME ...",
 * "650-NAME...", "650+NAME...") is about, or -1. The name ends at a space,
 * '\r' or '=' (or at len); the first four bytes are not checked. */
int event_of_line(const char *line, size_t len);

#endif
