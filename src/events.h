/*
 * events.h: asynchronous events (control-spec section 4.1): SETEVENTS
 * under a profile, and the ownership tracking that restrict-stream-events
 * needs. The table of event names is evtab.h.
 *
 * A client's SETEVENTS is checked against the profile's `events`: any
 * event not listed denies the whole command (510). Events marked
 * `suppress` are acknowledged but never subscribed upstream. torgate keeps
 * the client's set and sends tor the union of what the client may really
 * receive and what torgate itself needs (STREAM, CIRC for
 * restrict-stream-events); events the client did not ask for are dropped
 * on the way back.
 */
#ifndef TORGATE_EVENTS_H
#define TORGATE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evtab.h"
#include "profile.h"

typedef struct setevents {
	event_mask_t client;    /* what the client asked for (all allowed) */
	event_mask_t upstream;  /* what to subscribe at tor */
	char *upstream_args;    /* the SETEVENTS arguments to send tor */
	size_t upstream_len;
	const char *why;        /* when denied */
	char bad[64];           /* the event that was not allowed */
} setevents_t;

/*
 * Judge "SETEVENTS args" for profile p; internal is what torgate needs
 * subscribed whatever the client asks. 0 and *out filled, or -1 (denied,
 * out->why set). Free out->upstream_args.
 */
int events_setevents(const profile_t *p, const char *args, size_t len,
    event_mask_t internal, setevents_t *out);

/* Build SETEVENTS arguments for a mask (for internal resubscriptions). */
char *events_mask_args(event_mask_t m, size_t *lenp);

/* The events named in SETEVENTS arguments as torgate sends them to tor
 * (events_setevents' upstream_args): names tor's table does not know and
 * the EXTENDED flag are left out. */
event_mask_t events_mask_of_args(const char *args, size_t len);

/*
 * Ownership for restrict-stream-events: streams whose SOURCE_ADDR is the
 * client's own address, and the circuits they use. Bounded sets.
 */
#define OWNED_MAX 1024

typedef struct owned {
	uint64_t streams[OWNED_MAX];
	size_t n_streams;
	uint64_t circs[OWNED_MAX];
	size_t n_circs;
} owned_t;

typedef enum {
	RESTRICT_PASS,      /* deliver as it is */
	RESTRICT_DROP,      /* not the client's: drop */
	RESTRICT_STRIP,     /* deliver as "650 CIRC ID CLOSED" */
} restrict_verdict_t;

/* Is a new stream the client's own? source: its SOURCE_ADDR value
 * ("host:port"), or NULL when tor gave none (a RESOLVE over a unix
 * control connection); target: its target ("host:port"). */
typedef bool (*own_source_fn)(void *arg, const char *source,
    const char *target);

/* Update o from a STREAM or CIRC event line and say what the client may
 * see of it. A new stream is the client's when own_source says so. For
 * RESTRICT_STRIP the circuit id is written to *circ. */
restrict_verdict_t events_restrict(owned_t *o, own_source_fn own_source,
    void *arg, const char *line, size_t len, uint64_t *circ);

/*
 * restrict-onion-events: an HS_DESC or HS_DESC_CONTENT event is about one
 * onion service, its HSAddress (the 56-character base32 form, without
 * ".onion"), as tor writes them (control_events.c):
 *   650 HS_DESC Action HSAddress AuthType HsDir [DescriptorID] [K=V...]
 *   650+HS_DESC_CONTENT HSAddress DescId HsDir   (then data, "650 OK")
 * A client sees the event when its profile created that service, and,
 * for the events of fetching a descriptor (REQUESTED, RECEIVED, FAILED
 * with an AuthType other than UNKNOWN -- a failed upload says UNKNOWN --
 * and HS_DESC_CONTENT), when it asked tor to fetch that very address.
 */

/* Is the onion service addr[0..len) the client's for this event? fetch:
 * the event is about fetching the service's descriptor, not publishing
 * it. */
typedef bool (*own_onion_fn)(void *arg, const char *addr, size_t len,
    bool fetch);

/* Read the first line of an HS_DESC or HS_DESC_CONTENT event (line[0..len),
 * no CRLF): false if it is not one tor writes (wrong framing, no address,
 * "UNKNOWN" or not 56 base32 characters), else its HSAddress in
 * *addr and *alen (pointing into line) and whether it is about a fetch. */
bool events_onion_event(const char *line, size_t len, const char **addr,
    size_t *alen, bool *fetch);

/* May the client see this HS_DESC or HS_DESC_CONTENT event (its first
 * line)? Events that cannot be read are not its (fail closed). */
bool events_onion_is_own(own_onion_fn own, void *arg, const char *line,
    size_t len);

/* Is s[0..len) an onion service address as tor writes it in events and
 * ServiceID=: 56 base32 characters (either case, as tor decodes them)? */
bool events_is_onion_address(const char *s, size_t len);

bool owned_has_circ(const owned_t *o, uint64_t id);
bool owned_has_stream(const owned_t *o, uint64_t id);

#endif
