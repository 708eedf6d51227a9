/*
 * owner.c: restrict-stream-events -- which streams and circuits are the
 * client's own. events.c keeps the sets and reads STREAM/CIRC events;
 * this file answers its one question (is a new stream this client's?)
 * from what the session knows: its own upstream connection, the names it
 * RESOLVEd, its address or uid, and tor's SOCKS listeners (torview.h).
 *
 * restrict-onion-events -- which onion services' HS_DESC and
 * HS_DESC_CONTENT events are the client's: those its profile created
 * (the ownership table, onions.h) and the fetches of addresses it
 * HSFETCHed itself recently.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "kvline.h"
#include "onions.h"
#include "session_impl.h"
#include "torview.h"
#include "util.h"

void
owner_start(session_t *s)
{
	const cmd_def_t *def = cmdtab_get(CMD_SETEVENTS);
	pending_t *p;

	if (!s->profile->restrict_stream_events)
		return;
	/* Follow the client's streams from the start, whatever it
	 * subscribes to. */
	s->owned = xzalloc(sizeof(*s->owned));
	s->ev_internal = EVMASK(TEV_STREAM);
	p = command_stage(s, def);
	p->flags = P_INTERNAL;
	command_send(s, p, def, NULL, "STREAM", 6);
}

void
owner_clear(session_t *s)
{
	FREE(s->owned);
	for (size_t i = 0; i < RESOLVES_MAX; i++)
		FREE(s->resolves[i]);
	for (size_t i = 0; i < HSFETCHES_MAX; i++)
		FREE(s->hsfetches[i]);
}

void
owner_forget(session_t *s)
{
	if (s->owned != NULL)
		memset(s->owned, 0, sizeof(*s->owned));
	for (size_t i = 0; i < RESOLVES_MAX; i++)
		FREE(s->resolves[i]);
	s->resolve_next = 0;
	s->data_key = 0;
	/* A fetch tor had not finished is not finished by the new one. */
	for (size_t i = 0; i < HSFETCHES_MAX; i++)
		FREE(s->hsfetches[i]);
	s->hsfetch_next = 0;
}

/*
 * Is a new stream this client's?
 * - SOURCE_ADDR is this session's own upstream connection (a RESOLVE the
 *   client sent, tor reached over TCP): yes.
 * - No SOURCE_ADDR (a RESOLVE over a unix control connection; tor does
 *   not say which): yes if this client asked to resolve that very name
 *   recently. Two clients resolving one name both see it.
 * - A remote client: SOURCE_ADDR's host is the client's address.
 * - A local client (unix socket or loopback): SOURCE_ADDR is a loopback
 *   address whose socket to one of tor's SOCKS listeners belongs to the
 *   client's uid (sock_diag); with the uid unknown, nothing is.
 */
bool
owner_is_own_source(void *arg, const char *source, const char *target)
{
	session_t *s = arg;
	const guard_targets_t *socks = torview_socks(s->g->tor);
	char err[128], host[64];
	struct sockaddr_storage up;
	socklen_t uplen = sizeof(up);
	tg_addr_t a;
	unsigned port;

	if (source == NULL) {
		const char *colon = strrchr(target, ':');
		size_t tlen = colon ? (size_t)(colon - target) : strlen(target);
		for (size_t i = 0; i < RESOLVES_MAX; i++)
			if (s->resolves[i] != NULL &&
			    strn_case_eq(target, tlen, s->resolves[i]))
				return true;
		return false;
	}
	if (addr_parse(source, &a, err, sizeof(err)) < 0 ||
	    a.family == AF_UNIX)
		return false;
	if (s->ubev != NULL && getsockname(bufferevent_getfd(s->ubev),
	    (struct sockaddr *)&up, &uplen) == 0 &&
	    up.ss_family == a.ss.ss_family && uplen == a.len &&
	    memcmp(&up, &a.ss, uplen) == 0)
		return true;
	if (!s->peer.local) {
		addr_host_port((struct sockaddr *)&a.ss, a.len, host,
		    sizeof(host), &port);
		return strcmp(host, s->peer.host) == 0;
	}
	if (!addr_is_local((struct sockaddr *)&a.ss) || !s->peer.have_uid)
		return false;
	for (size_t i = 0; i < socks->n; i++) {
		uid_t uid;
		if (peer_tcp_owner(&a.ss, &socks->v[i].ss, &uid))
			return uid == s->peer.uid;
	}
	return false;
}

void
owner_note_resolve(session_t *s, const char *args, size_t len)
{
	words_t w;

	words_split(args, len, &w);
	for (size_t i = 0; i < w.n; i++) {
		if (strncasecmp(w.v[i], "mode=", 5) == 0)
			continue;
		free(s->resolves[s->resolve_next]);
		s->resolves[s->resolve_next] = xstrdup(w.v[i]);
		s->resolve_next = (s->resolve_next + 1) % RESOLVES_MAX;
	}
	words_clear(&w);
}

void
owner_note_hsfetch(session_t *s, const char *args, size_t len)
{
	words_t w;

	if (!s->profile->restrict_onion_events)
		return;
	/* tor reads its one positional argument first: the address. */
	words_split(args, len, &w);
	if (w.n > 0 && events_is_onion_address(w.v[0], strlen(w.v[0]))) {
		free(s->hsfetches[s->hsfetch_next]);
		s->hsfetches[s->hsfetch_next] = xstrdup(w.v[0]);
		s->hsfetch_next = (s->hsfetch_next + 1) % HSFETCHES_MAX;
	}
	words_clear(&w);
}

/*
 * Is the onion service addr the client's, for this event?
 * - Its profile created it (ADD_ONION, remembered by onions.c, detached
 *   or not): every event about it.
 * - The client HSFETCHed it recently and the event is about that fetch:
 *   yes. Two clients fetching one address both see its fetch events.
 */
bool
owner_is_own_onion(void *arg, const char *addr, size_t len, bool fetch)
{
	session_t *s = arg;

	if (onions_owned(torview_onions(s->g->tor), s->profile->name, addr,
	    len))
		return true;
	if (!fetch)
		return false;
	for (size_t i = 0; i < HSFETCHES_MAX; i++)
		if (s->hsfetches[i] != NULL &&
		    strn_case_eq(addr, len, s->hsfetches[i]))
			return true;
	return false;
}
