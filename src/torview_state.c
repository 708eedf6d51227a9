/*
 * torview_state.c: the owners of detached onion services, kept in the
 * state file across restarts of torgate and reconciled with what tor still
 * has (GETINFO onions/detached). See torview.h.
 */
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "onionstate.h"
#include "torview.h"
#include "torview_impl.h"
#include "util.h"

/* How long tor may take to answer the reconciliation's GETINFO: tor answers
 * at once; 30 s leaves room for a tor busy starting up (a later connection
 * to tor tries again). */
#define RECONCILE_TIMEOUT_SEC 30

/* ---- onion services' owners ---------------------------------------------- */

struct add_ctx {
	onionstate_t *st;
	size_t *skipped;
};

static void
add_entry_cb(void *arg, const char *sid, const char *profile)
{
	struct add_ctx *c = arg;

	if (onionstate_add(c->st, sid, profile) < 0)
		(*c->skipped)++;
}

static void
unmark_cb(void *arg, const char *sid, const char *profile)
{
	onions_set_detached(arg, sid, strlen(sid), false);
}

/* Write the detached services' owners to the state file (once this tor's
 * identity is known; until then the save waits for the reconciliation). */
static void
state_save(torview_t *tv)
{
	onionstate_t st;
	char why[512];
	size_t skipped = 0;

	if (tv->state_dir == NULL)
		return;
	if (!tv->state_ready || tv->tor_id == NULL) {
		tv->state_dirty = true;
		return;
	}
	tv->state_dirty = false;
	onionstate_init(&st);
	if (onionstate_set_tor(&st, tv->tor_id) < 0)
		abort();        /* tor_id is made to fit */
	onions_each_detached(tv->onions, add_entry_cb, &(struct add_ctx){
		&st, &skipped });
	if (skipped > 0)
		log_warnx("onion state: %zu detached service%s cannot be "
		    "written (profile name too long or service ID unusual); "
		    "after a restart nobody may delete %s", skipped,
		    skipped == 1 ? "" : "s", skipped == 1 ? "it" : "them");
	if (onionstate_save(tv->state_dir, &st, why, sizeof(why)) < 0)
		log_warnx("onion state: %s; owners of detached onion services "
		    "will not survive a restart of torgate", why);
	onionstate_clear(&st);
}

bool
torview_onion_added(torview_t *tv, const char *profile, const char *sid,
    size_t len, bool detached, uint64_t conn)
{
	bool was = onions_is_detached(tv->onions, sid, len);

	if (!onions_add(tv->onions, profile, sid, len))
		return false;
	if (detached)
		onions_set_detached(tv->onions, sid, len, true);
	else
		onions_set_conn(tv->onions, sid, len, conn);
	if (detached || was)
		state_save(tv);
	return true;
}

void
torview_onion_conn_closed(torview_t *tv, const char *sid, size_t len,
    uint64_t conn)
{
	if (onions_forget_conn(tv->onions, sid, len, conn))
		log_debug("onion service %.*s went with its connection to tor",
		    (int)len, sid);
}

void
torview_onion_deleted(torview_t *tv, const char *sid, size_t len)
{
	bool was = onions_is_detached(tv->onions, sid, len);

	onions_remove(tv->onions, sid, len);
	if (was)
		state_save(tv);
}

/* ---- the state file at start --------------------------------------------- */

static void
saved_add_cb(torview_t *tv, const onionstate_t *st)
{
	for (size_t i = 0; i < st->n; i++)
		onions_add(tv->saved, st->v[i].profile, st->v[i].sid,
		    strlen(st->v[i].sid));
}

void
torview_keep_state(torview_t *tv, const char *dir,
    torview_has_profile_fn has_profile, void *arg)
{
	onionstate_t st;
	char why[512];

	free(tv->state_dir);
	tv->state_dir = xstrdup(dir);
	tv->has_profile = has_profile;
	tv->has_profile_arg = arg;
	onionstate_init(&st);
	switch (onionstate_load(dir, &st, why, sizeof(why))) {
	case ONIONSTATE_LOADED:
		tv->state_tor = xstrdup(st.tor);
		tv->saved = onions_new();
		saved_add_cb(tv, &st);
		log_info("onion state: %zu detached service%s in %s/%s, to "
		    "reconcile with tor", st.n, st.n == 1 ? "" : "s", dir,
		    ONIONSTATE_FILE);
		break;
	case ONIONSTATE_ABSENT:
		log_info("onion state: no %s/%s yet", dir, ONIONSTATE_FILE);
		break;
	case ONIONSTATE_BAD:
		log_warnx("onion state: %s; ignored: no client may delete the "
		    "detached services it listed (it is replaced once torgate "
		    "has reconciled with tor)", why);
		break;
	}
	onionstate_clear(&st);
	torview_reconcile_start(tv);
}

/* ---- reconciliation: which of them does tor still have? ------------------ */

/* This tor's identity for the state file: its version, its process id,
 * and a one-way digest of its cookie (each changes when tor restarts; the
 * cookie itself is a secret and never written). */
static char *
make_tor_id(const char *version, const char *pid, const uint8_t *cookie)
{
	static const char label[] = "torgate state file: tor instance";
	char hex[2 * 16 + 1] = "none";
	char *id;

	if (cookie != NULL) {
		struct hmac_sha256_ctx ctx;
		uint8_t d[SHA256_DIGEST_SIZE];
		hmac_sha256_set_key(&ctx, TOR_COOKIE_LEN, cookie);
		hmac_sha256_update(&ctx, sizeof(label) - 1,
		    (const uint8_t *)label);
		hmac_sha256_digest(&ctx, sizeof(d), d);
		hex_encode(d, 16, hex);
		memwipe(&ctx, sizeof(ctx));
	}
	id = xasprintf("%.100s pid=%.20s cookie=%s", version, pid, hex);
	return id;
}

/* Adopt a service from the file that tor still has. */
static void
adopt_cb(void *arg, const char *sid, const char *profile)
{
	torview_t *tv = arg;
	size_t len = strlen(sid);

	/* What this run of torgate saw itself is newer than the file. */
	if (onions_is_detached(tv->onions, sid, len) ||
	    onions_owned(tv->onions, profile, sid, len))
		return;
	if (!onions_add(tv->onions, profile, sid, len)) {
		log_warnx("onion state: too many onion services to remember; "
		    "nobody may delete %s", sid);
		return;
	}
	onions_set_detached(tv->onions, sid, len, true);
	if (tv->has_profile != NULL &&
	    !tv->has_profile(tv->has_profile_arg, profile))
		log_warnx("onion state: detached service %s belongs to profile "
		    "\"%s\", which no longer exists: kept, and no client may "
		    "delete it", sid, profile);
}

static void
count_cb(void *arg, const char *sid, const char *profile)
{
	(*(size_t *)arg)++;
}

/* tor answered: adopt the file's services it still has (if the file is of
 * this very tor), drop the rest, rewrite the file. */
static void
reconcile_done(torview_t *tv)
{
	size_t n_file = tv->saved ? onions_count(tv->saved) : 0, kept = 0;
	const uint8_t *cookie = tv->rc_have_cookie ? tv->rc_cookie : NULL;
	char *id;
	bool same;

	/* The answer must be of the tor the view now shows. */
	if (strcmp(tv->rc_version, tv->version) != 0 ||
	    (cookie != NULL) != tv->have_cookie || (cookie != NULL &&
	    !ct_memeq(cookie, tv->cookie, TOR_COOKIE_LEN))) {
		log_info("onion state: tor changed while reconciling; again");
		torview_reconcile_stop(tv);
		torview_reconcile_start(tv);
		return;
	}
	id = make_tor_id(tv->rc_version, tv->rc_pid ? tv->rc_pid : "unknown",
	    cookie);
	same = tv->saved != NULL && tv->state_tor != NULL &&
	    strcmp(tv->state_tor, id) == 0;
	if (same) {
		onions_each_detached(tv->saved, count_cb, &kept);
		onions_each_detached(tv->saved, adopt_cb, tv);
	}
	onions_free(tv->saved);
	tv->saved = NULL;
	FREE(tv->state_tor);
	free(tv->tor_id);
	tv->tor_id = id;
	tv->state_ready = true;
	torview_reconcile_stop(tv);
	state_save(tv);
	/* Said once the file is written: the line marks the end. */
	if (same)
		log_info("onion state: reconciled with tor: %zu of %zu "
		    "detached service%s from the file still run and keep "
		    "their owners; %zu dropped", kept, n_file,
		    n_file == 1 ? "" : "s", n_file - kept);
	else if (n_file > 0)
		log_info("onion state: the file is of another tor instance "
		    "(tor restarted): its %zu detached service%s died with "
		    "it; dropped", n_file, n_file == 1 ? "" : "s");
	else
		log_info("onion state: reconciled with tor (%zu detached "
		    "service%s)", tv->rc_listed, tv->rc_listed == 1 ? "" : "s");
}

/* The reconciliation failed: the file's services stay owned by nobody; the
 * next connection to tor tries again. */
static void
reconcile_fail(torview_t *tv, const char *why)
{
	log_warnx("onion state: cannot reconcile with tor (%s); until then "
	    "no client may delete the detached services of the state file",
	    why);
	torview_reconcile_stop(tv);
}

/* One line of tor's answer to "GETINFO process/pid onions/detached". */
static void
reconcile_line(torview_t *tv, const char *line, size_t len)
{
	static const char pid[] = "250-process/pid=";
	static const char one[] = "250-onions/detached=";
	static const char many[] = "250+onions/detached=";

	if (tv->rc_in_data) {
		if (len == 1 && line[0] == '.') {
			tv->rc_in_data = false;
			return;
		}
		if (line[0] == '.')     /* dot-stuffed */
			line++, len--;
		tv->rc_listed++;
		if (tv->saved != NULL)
			onions_set_detached(tv->saved, line, len, true);
		return;
	}
	if (len >= sizeof(pid) - 1 && memcmp(line, pid, sizeof(pid) - 1) == 0) {
		free(tv->rc_pid);
		tv->rc_pid = xmemdup_nul(line + sizeof(pid) - 1,
		    len - (sizeof(pid) - 1));
	} else if (len >= sizeof(one) - 1 &&
	    memcmp(line, one, sizeof(one) - 1) == 0) {
		if (len > sizeof(one) - 1) {
			tv->rc_listed++;
			if (tv->saved != NULL)
				onions_set_detached(tv->saved,
				    line + sizeof(one) - 1,
				    len - (sizeof(one) - 1), true);
		}
	} else if (len == sizeof(many) - 1 &&
	    memcmp(line, many, sizeof(many) - 1) == 0) {
		tv->rc_in_data = true;
	} else if (len >= 4 && line[3] == ' ') {
		if (memcmp(line, "250", 3) == 0) {
			reconcile_done(tv);
		} else {
			/* tor will not say: nothing from the file is owned,
			 * and the file is rewritten without it. */
			log_warnx("onion state: tor refused GETINFO "
			    "onions/detached (%.100s)", line);
			onions_free(tv->saved);
			tv->saved = NULL;
			FREE(tv->rc_pid);
			reconcile_done(tv);
		}
	} else {
		reconcile_fail(tv, "unexpected reply");
	}
}

static void
reconcile_read_cb(struct bufferevent *bev, void *arg)
{
	torview_t *tv = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (tv->rc_bev != NULL) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > ONIONSTATE_LINE_MAX)
				reconcile_fail(tv, "reply line too long");
			return;
		}
		if (len > ONIONSTATE_LINE_MAX || len == 0)
			reconcile_fail(tv, "bad reply line");
		else
			reconcile_line(tv, line, len);
		free(line);
	}
}

static void
reconcile_event_cb(struct bufferevent *bev, short what, void *arg)
{
	reconcile_fail(arg, "tor closed the connection");
}

static void
reconcile_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	reconcile_fail(arg, "tor did not answer");
}

static void
reconcile_ready(upstream_t *u, bool ok, const char *why, void *arg)
{
	static const char q[] = "GETINFO process/pid onions/detached\r\n";
	torview_t *tv = arg;
	const uint8_t *cookie;
	struct timeval to = { RECONCILE_TIMEOUT_SEC, 0 };

	tv->rc_up = NULL;
	if (!ok) {
		upstream_free(u);
		reconcile_fail(tv, why);
		return;
	}
	/* This connection shows tor like any other (and may show it has
	 * changed; rc_busy keeps that from starting a second one). */
	torview_note_upstream(tv, u);
	free(tv->rc_version);
	tv->rc_version = xstrdup(upstream_tor_version(u) ?
	    upstream_tor_version(u) : "");
	cookie = upstream_cookie(u);
	tv->rc_have_cookie = cookie != NULL;
	if (cookie != NULL)
		memcpy(tv->rc_cookie, cookie, TOR_COOKIE_LEN);
	tv->rc_bev = upstream_take_bev(u);
	upstream_free(u);
	bufferevent_setcb(tv->rc_bev, reconcile_read_cb, NULL,
	    reconcile_event_cb, tv);
	bufferevent_enable(tv->rc_bev, EV_READ | EV_WRITE);
	evbuffer_add(bufferevent_get_output(tv->rc_bev), q, sizeof(q) - 1);
	tv->rc_timer = evtimer_new(tv->base, reconcile_timeout_cb, tv);
	if (tv->rc_timer == NULL || evtimer_add(tv->rc_timer, &to) < 0) {
		reconcile_fail(tv, "evtimer_new failed");
		return;
	}
	/* Replies already read with the authentication's. */
	reconcile_read_cb(tv->rc_bev, tv);
}

void
torview_reconcile_start(torview_t *tv)
{
	if (tv->state_dir == NULL || tv->rc_busy)
		return;
	tv->rc_busy = true;
	tv->rc_listed = 0;
	tv->rc_in_data = false;
	FREE(tv->rc_pid);
	if (tv->saved != NULL)      /* marks of an earlier, failed try */
		onions_each_detached(tv->saved, unmark_cb, tv->saved);
	tv->rc_up = upstream_connect(tv->base, &tv->conf, reconcile_ready, tv);
	if (tv->rc_up == NULL)
		reconcile_fail(tv, "cannot make a socket");
}

void
torview_reconcile_stop(torview_t *tv)
{
	upstream_free(tv->rc_up);
	tv->rc_up = NULL;
	if (tv->rc_bev != NULL)
		bufferevent_free(tv->rc_bev);
	tv->rc_bev = NULL;
	if (tv->rc_timer != NULL)
		event_free(tv->rc_timer);
	tv->rc_timer = NULL;
	FREE(tv->rc_version);
	FREE(tv->rc_pid);
	memwipe(tv->rc_cookie, sizeof(tv->rc_cookie));
	tv->rc_have_cookie = false;
	tv->rc_busy = false;
}
