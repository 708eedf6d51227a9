/*
 * session_impl.h: the session's insides, shared by the files that make up
 * the session layer and by nothing else:
 *
 *   session.c   lifecycle: start, identification, the upstream
 *               connection, back-pressure, flushing, the end
 *   command.c   the command path: client bytes -> commands -> verdict ->
 *               forwarded to tor or answered
 *   builtin.c   the answers torgate gives itself (PROTOCOLINFO,
 *               AUTHCHALLENGE, AUTHENTICATE, QUIT, ...)
 *   relay.c     tor's bytes -> replies and events -> the client, and what a
 *               reply teaches torgate (onion services, event sets)
 *   owner.c     which streams, circuits and onion services' events are
 *               the client's own (restrict-stream-events,
 *               restrict-onion-events)
 *
 * States:
 *   S_IDENTIFYING who the client is is being found out (ident.h) while the
 *                 upstream connection is made; the client is not read yet.
 *   S_CONNECTING  identified; the upstream connection is being made and
 *                 authenticated (PROTOCOLINFO needs tor's version,
 *                 AUTHCHALLENGE the cookie).
 *   S_PREAUTH     like tor: only PROTOCOLINFO, AUTHCHALLENGE, AUTHENTICATE
 *                 and QUIT; anything else is answered 514 and closes. This
 *                 is what keeps a web page that POSTs to the control port
 *                 from having its body executed as commands.
 *   S_OPEN        authenticated: commands go through the profile.
 *   S_CLOSING     no more reading; the session ends once the replies
 *                 queued for the client are written.
 *
 * Tor away (s->away, in S_PREAUTH or S_OPEN): the connection to tor ended.
 * Commands that were sent to tor got TOR_LOST_REPLY; the session waits for
 * tor (torview_wait) and then reconnects, restores the client's events and
 * sends what waited. Meanwhile an S_OPEN client's commands are read and
 * wait (bounded in number and time); an S_PREAUTH client is not read (its
 * PROTOCOLINFO and AUTHCHALLENGE answers depend on the new tor). A session
 * not yet open when tor is away waits for it the same way.
 *
 * Half-close (s->client_eof): the client sent EOF; its commands already
 * read are answered, then the session closes, as tor does.
 *
 * The pending queue is a ring of entries, one per command not yet
 * answered: forwarded ones wait for tor's reply, local ones carry the
 * answer torgate wrote itself and are released as soon as everything
 * before them has been answered.
 */
#ifndef TORGATE_SESSION_IMPL_H
#define TORGATE_SESSION_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "events.h"
#include "ident.h"
#include "policy.h"
#include "proto.h"
#include "router.h"
#include "session.h"
#include "torauth.h"

struct bufferevent;
struct evbuffer;

typedef enum {
	S_IDENTIFYING,
	S_CONNECTING,
	S_PREAUTH,
	S_OPEN,
	S_CLOSING,
} session_state_t;

typedef enum {
	EVM_DROP,
	EVM_PASS,
	EVM_GATHER,     /* into s->event, at most max_reply_line bytes */
} event_mode_t;

/* What a command gets when tor went away before answering it, or when it
 * waited for tor longer than allowed. tor's 550 ("Unspecified Tor
 * error"): the command failed on tor's side, not in its syntax. */
#define TOR_LOST_REPLY "550 Connection to tor lost"

/* Names a restricted client RESOLVEd, remembered to recognise its streams. */
#define RESOLVES_MAX 16
/* Onion addresses a client with restrict-onion-events HSFETCHed,
 * remembered to let it see the events of those fetches. */
#define HSFETCHES_MAX 16

enum {
	P_CLOSE = 1 << 0,    /* close the session once this reply is out */
	P_INTERNAL = 1 << 1, /* torgate's own command: swallow the reply */
	P_RESTRICT = 1 << 2, /* filter circuit-status/stream-status lines */
	P_DETACH = 1 << 3,   /* ADD_ONION with Flags=Detach */
	P_LISTENERS = 1 << 4, /* may change tor's listeners (torview.h) */
};

typedef struct pending {
	const cmd_rule_t *rule;   /* forwarded: its response rewrites */
	const cmd_rule_t **more;  /* more rules (multi-key reads), owned */
	size_t n_more;
	char *local;              /* local answer (with CRLFs), or NULL */
	size_t local_len;
	char *sid;                /* DEL_ONION: the service, owned */
	event_mask_t events;      /* SETEVENTS: the client's new set */
	event_mask_t up_events;   /* SETEVENTS: what goes to tor */
	unsigned flags;
	cmd_id_t cmd;
	bool forwarded;
	router_expect_t rx;       /* forwarded: what its reply may be */
} pending_t;

struct session {
	TAILQ_ENTRY(session) link;
	gate_t *g;
	uint64_t id;
	session_state_t state;
	struct bufferevent *cbev;       /* client */
	struct bufferevent *ubev;       /* tor, once authenticated */
	/* What is to be written, gathered here (evbuffers without
	 * callbacks) and handed to the bufferevents once per callback. */
	struct evbuffer *cq;            /* to the client */
	struct evbuffer *uq;            /* to tor */
	upstream_t *up;                 /* while connecting */
	bool up_ready;                  /* up is authenticated */
	/* Tor going away (see above). */
	bool away;                      /* the connection to tor was lost */
	torview_waiter_t waiter;        /* waiting for tor to answer again */
	struct event *wait_timer;       /* how long the client waits */
	size_t n_waiting;               /* commands queued while away */
	bool client_eof;                /* the client half-closed */
	ident_req_t *ident;             /* while identifying */
	peer_t peer;
	admit_key_t admit_key;          /* counted under it, if admitted */
	bool admitted;
	struct event *auth_timer;       /* auth-timeout, from the start */
	char *listener_profile;
	char *listener_text;
	profile_set_t *set;
	const profile_t *profile;
	bool collision;
	char host[64], port[8], shost[64], sport[8];
	template_vars_t vars;
	proto_cmd_reader_t creader;
	proto_reply_reader_t rreader;
	/* The pending ring. */
	pending_t *ring;
	size_t ring_cap, ring_head, npending;
	size_t local_bytes;             /* answers waiting in the ring */
	bool client_paused;             /* reading from the client paused */
	bool upstream_paused;           /* reading from tor paused */
	/* Pre-authentication state, as tor keeps it. */
	bool sent_protocolinfo;
	bool got_challenge;
	/* --cookie-file: after AUTHCHALLENGE, the SAFECOOKIE client hash
	 * AUTHENTICATE must bring (wiped once checked, and at the end). */
	bool sc_pending;
	uint8_t sc_hash[SAFECOOKIE_HASH_LEN];
	bool close_queued;              /* a closing answer is queued: read
	                                 * no further commands (as tor) */
	/* The last thing sent to tor was a fence (router.h). */
	bool fenced;
	char fence[ROUTER_FENCE_KEY_SIZE];  /* that fence's key */
	/* Events. */
	event_mask_t ev_client;         /* what the client subscribed to */
	event_mask_t ev_upstream;       /* what tor was asked for for it */
	event_mask_t ev_internal;       /* what torgate needs itself */
	struct evbuffer *event;         /* the event being gathered */
	int event_id;
	event_mode_t event_mode;
	owned_t *owned;                 /* restrict-stream-events */
	int data_key;                   /* restrict: 1 circuits, 2 streams */
	char *resolves[RESOLVES_MAX];   /* restrict: names it RESOLVEd */
	/* Onion services made on this session's connection to tor, not
	 * detached: tor drops them when the connection ends, and so does
	 * the ownership table (session_note_onion). */
	char **onion_sids;
	size_t n_onion_sids, cap_onion_sids;
	size_t resolve_next;
	char *hsfetches[HSFETCHES_MAX]; /* restrict-onion-events */
	size_t hsfetch_next;
	char learn_name[128];           /* MODE_LEARN */
	/* Counters for the log line at the end. */
	unsigned long n_cmds, n_denied;
	bool dead;                      /* killed; freed by the reaper */
};

/* session.c */
pending_t *pending_push(session_t *s);
pending_t *pending_head(session_t *s);
void pending_pop(session_t *s);
int flush_local(session_t *s);
void reply_local(session_t *s, unsigned flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void session_close_after_flush(session_t *s);
size_t session_to_client(session_t *s);
/* Bytes the client is yet to read, including the answers torgate wrote
 * itself that wait in the pending ring for an earlier reply. */
size_t session_client_backlog(session_t *s);
/* tor made the service sid (not detached) on s's connection. */
void session_note_onion(session_t *s, const char *sid, size_t len);
/* Make p a local answer of text (ending in CRLF); local_bytes counts it. */
void pending_set_local(session_t *s, pending_t *p, const char *text);
size_t session_to_tor(session_t *s);
/* Tor is away: may one more command wait for it? If so the wait is
 * counted (and timed); if not it gets TOR_LOST_REPLY. */
bool session_may_wait(session_t *s);

/* command.c: read and handle the client's commands until it must wait. */
void command_process(session_t *s);
bool command_must_pause(session_t *s);
/* Queue the pending entry of a command for tor; fill in how its reply is
 * read, then command_send() it. Valid until the next pending_push(). */
pending_t *command_stage(session_t *s, const cmd_def_t *def);
/* A fresh fence key (router.h); -1 if there is no randomness. */
int command_new_fence(char key[ROUTER_FENCE_KEY_SIZE]);
/* Send p's command to tor (between fences if its reply is checked,
 * router.h); args NULL: the line as the client sent it (and its body). */
void command_send(session_t *s, pending_t *p, const cmd_def_t *def,
    const proto_cmd_t *cmd, const char *args, size_t args_len);

/* builtin.c: may cmd be sent before AUTHENTICATE, in this state? */
bool builtin_allowed_before_auth(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd);
/* Answer cmd if torgate answers it itself; true if it did. */
bool builtin_answer(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd);
/* Does every CMD_F_LOCAL command have an answer? (A self-check.) */
bool builtin_table_complete(void);

/* relay.c: relay what tor sent until the client must wait. */
void relay_process(session_t *s);
/* Does torgate filter, rewrite or learn from p's reply? */
bool relay_reply_checked(const pending_t *p);

/* owner.c */
/* restrict-stream-events: follow the client's streams from the start. */
void owner_start(session_t *s);
/* Remember the names a restricted client asks tor to RESOLVE. */
void owner_note_resolve(session_t *s, const char *args, size_t len);
/* Is a new stream this client's? (own_source_fn) */
bool owner_is_own_source(void *arg, const char *source, const char *target);
/* Remember the onion address a client with restrict-onion-events asks
 * tor to HSFETCH (the arguments as tor receives them). */
void owner_note_hsfetch(session_t *s, const char *args, size_t len);
/* Is this onion service's event the client's? (own_onion_fn) */
bool owner_is_own_onion(void *arg, const char *addr, size_t len,
    bool fetch);
void owner_clear(session_t *s);
/* Tor went away: its stream and circuit ids start again in the new tor. */
void owner_forget(session_t *s);

#endif
