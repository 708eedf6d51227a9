/*
 * upstream.c: connect and authenticate to tor. See upstream.h.
 *
 * A small state machine driven by bufferevent callbacks:
 *   CONNECTING -> PROTOCOLINFO -> [AUTHCHALLENGE] -> AUTHENTICATE -> READY
 * Every reply line from tor is bounded (UPSTREAM_MAX_LINE); a timer bounds
 * the whole exchange.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kvline.h"
#include "log.h"
#include "upstream.h"
#include "util.h"

/* Authentication replies are a few hundred bytes; anything much longer is
 * not tor. */
#define UPSTREAM_MAX_LINE 8192


typedef enum {
	UP_CONNECTING,
	UP_PROTOCOLINFO,
	UP_AUTHCHALLENGE,
	UP_AUTHENTICATE,
	UP_LISTENERS,
	UP_READY,
	UP_FAILED,
} up_state_t;

struct upstream {
	struct bufferevent *bev;
	struct event *timer;
	const upstream_conf_t *conf;
	upstream_cb cb;
	void *arg;
	up_state_t state;
	/* From PROTOCOLINFO. */
	bool m_null, m_cookie, m_safecookie, m_password;
	char *cookiefile;
	char *version;
	bool saw_auth_line;
	/* SAFECOOKIE. */
	uint8_t cookie[TOR_COOKIE_LEN];
	bool have_cookie;
	uint8_t client_nonce[SAFECOOKIE_NONCE_LEN];
	bool challenge_sent;    /* AUTHCHALLENGE went with PROTOCOLINFO */
	char why[512];
	char *listeners;        /* GETINFO net/listeners/control value */
	char *socks;            /* GETINFO net/listeners/socks value */
	char pid[24];           /* GETINFO process/pid value, or "" */
	uint64_t serial;        /* opened as the serial-th connection */
};

/* The number the next connection gets (upstream_serial()). */
static uint64_t next_serial = 1;

static void
finish(upstream_t *u, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(upstream_t *u, bool ok, const char *fmt, ...)
{
	char why[512] = "";
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (u->state == UP_READY || u->state == UP_FAILED)
		return;
	u->state = ok ? UP_READY : UP_FAILED;
	snprintf(u->why, sizeof(u->why), "%s", why);
	if (u->timer != NULL)
		evtimer_del(u->timer);
	bufferevent_disable(u->bev, EV_READ);
	bufferevent_setcb(u->bev, NULL, NULL, NULL, NULL);
}

/* Report the outcome once it is known. Call last in every callback: the
 * owner may free u from its callback. */
static void
notify(upstream_t *u)
{
	if (u->state == UP_READY)
		u->cb(u, true, NULL, u->arg);
	else if (u->state == UP_FAILED)
		u->cb(u, false, u->why, u->arg);
}

static void
send_line(upstream_t *u, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(u->bev);
	evbuffer_add(out, line, strlen(line));
	evbuffer_add(out, "\r\n", 2);
	/* Ask for tor's control listeners (for the guard) and its process id
	 * (to tell a restarted tor from the same one) in the same write as
	 * AUTHENTICATE: no extra round trip. */
	if (strncmp(line, "AUTHENTICATE", 12) == 0) {
		static const char q[] = "GETINFO net/listeners/control "
		    "net/listeners/socks process/pid\r\n";
		evbuffer_add(out, q, sizeof(q) - 1);
	}
}

/* Send AUTHCHALLENGE SAFECOOKIE with a fresh client nonce; -1 if no
 * random bytes could be had (errno set). */
static int
send_challenge(upstream_t *u)
{
	char line[64 + 2 * SAFECOOKIE_NONCE_LEN];
	char hex[2 * SAFECOOKIE_NONCE_LEN + 1];

	if (random_bytes(u->client_nonce, sizeof(u->client_nonce)) < 0)
		return -1;
	hex_encode(u->client_nonce, sizeof(u->client_nonce), hex);
	snprintf(line, sizeof(line), "AUTHCHALLENGE SAFECOOKIE %s", hex);
	send_line(u, line);
	return 0;
}

/* Choose a method and send the next command. */
static void
authenticate(upstream_t *u)
{
	const char *path = u->conf->cookie_path ? u->conf->cookie_path :
	    u->cookiefile;

	if ((u->m_safecookie || u->m_cookie) && path != NULL) {
		if (torauth_read_cookie(path, u->cookie) == 0)
			u->have_cookie = true;
		else if (!u->m_null && !(u->m_password &&
		    u->conf->password_file)) {
			finish(u, false, "cannot read tor's cookie %s: %s", path,
			    errno == EINVAL ? "not a 32-byte cookie file" :
			    strerror(errno));
			return;
		}
	}
	if (u->challenge_sent) {
		if (u->have_cookie && u->m_safecookie) {
			u->state = UP_AUTHCHALLENGE;
			return;
		}
		u->conf->hint->safecookie = false;
		finish(u, false, "tor no longer offers SAFECOOKIE "
		    "authentication (or its cookie cannot be read); the next "
		    "connection will ask first");
		return;
	}
	if (u->have_cookie && u->m_safecookie) {
		if (send_challenge(u) < 0) {
			finish(u, false, "getrandom: %s", strerror(errno));
			return;
		}
		u->state = UP_AUTHCHALLENGE;
		u->conf->hint->safecookie = true;
	} else if (u->have_cookie && u->m_cookie) {
		char line[32 + 2 * TOR_COOKIE_LEN];
		char hex[2 * TOR_COOKIE_LEN + 1];
		hex_encode(u->cookie, TOR_COOKIE_LEN, hex);
		snprintf(line, sizeof(line), "AUTHENTICATE %s", hex);
		send_line(u, line);
		memwipe(line, sizeof(line));
		memwipe(hex, sizeof(hex));
		u->state = UP_AUTHENTICATE;
	} else if (u->m_password && u->conf->password_file != NULL) {
		char *pw = torauth_read_password(u->conf->password_file);
		char *q, *line;
		if (pw == NULL) {
			finish(u, false, "cannot read %s: %s",
			    u->conf->password_file, strerror(errno));
			return;
		}
		q = kvline_quote(pw);
		line = xasprintf("AUTHENTICATE %s", q);
		send_line(u, line);
		free_secret_str(line);
		free_secret_str(q);
		free_secret_str(pw);
		u->state = UP_AUTHENTICATE;
	} else if (u->m_null) {
		send_line(u, "AUTHENTICATE");
		u->state = UP_AUTHENTICATE;
	} else {
		finish(u, false, "no usable authentication method (tor offers "
		    "%s%s%s%s; give --tor-cookie or --tor-password-file)",
		    u->m_safecookie ? "SAFECOOKIE " : "",
		    u->m_cookie ? "COOKIE " : "",
		    u->m_password ? "HASHEDPASSWORD " : "",
		    u->m_null ? "NULL" : "");
	}
}

/* Find KEY= in s and return a pointer to its value, or NULL. */
static const char *
find_kv(const char *s, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = s; (p = strstr(p, key)) != NULL; p++)
		if ((p == s || p[-1] == ' ') && p[klen] == '=')
			return p + klen + 1;
	return NULL;
}

static void
parse_protocolinfo_line(upstream_t *u, const char *text)
{
	const char *v;

	if (strncmp(text, "AUTH ", 5) == 0) {
		u->saw_auth_line = true;
		if ((v = find_kv(text, "METHODS")) != NULL) {
			size_t n = strcspn(v, " ");
			char *m = xmemdup_nul(v, n), *tok, *save = NULL;
			for (tok = strtok_r(m, ",", &save); tok;
			    tok = strtok_r(NULL, ",", &save)) {
				if (!strcasecmp(tok, "NULL"))
					u->m_null = true;
				else if (!strcasecmp(tok, "COOKIE"))
					u->m_cookie = true;
				else if (!strcasecmp(tok, "SAFECOOKIE"))
					u->m_safecookie = true;
				else if (!strcasecmp(tok, "HASHEDPASSWORD"))
					u->m_password = true;
			}
			free(m);
		}
		if ((v = find_kv(text, "COOKIEFILE")) != NULL) {
			char *path;
			size_t plen;
			if (kvline_unquote(v, strlen(v), &path, &plen) > 0) {
				free(u->cookiefile);
				if (memchr(path, '\0', plen) == NULL)
					u->cookiefile = path;
				else
					free(path);
			}
		}
	} else if (strncmp(text, "VERSION ", 8) == 0) {
		if ((v = find_kv(text, "Tor")) != NULL) {
			char *ver;
			size_t vlen;
			if (kvline_unquote(v, strlen(v), &ver, &vlen) > 0) {
				free(u->version);
				u->version = ver;
			}
		}
	}
}

static void
handle_line(upstream_t *u, const char *line, size_t len)
{
	if (len < 4 || (line[3] != ' ' && line[3] != '-')) {
		finish(u, false, "unexpected reply from tor: %.40s", line);
		return;
	}
	if (strncmp(line, "250", 3) != 0 && u->state == UP_LISTENERS &&
	    line[3] == ' ') {
		log_warnx("tor did not list its control listeners (%.100s); "
		    "the guard knows only torgate's own", line);
		finish(u, true, NULL);
		return;
	}
	if (strncmp(line, "250", 3) != 0) {
		finish(u, false, "tor refused %s: %.200s",
		    u->state == UP_PROTOCOLINFO ? "PROTOCOLINFO" :
		    u->state == UP_AUTHCHALLENGE ? "AUTHCHALLENGE" :
		    "authentication", line);
		return;
	}
	switch (u->state) {
	case UP_PROTOCOLINFO:
		parse_protocolinfo_line(u, line + 4);
		if (line[3] == ' ') {
			if (!u->saw_auth_line) {
				finish(u, false, "PROTOCOLINFO without AUTH");
				return;
			}
			authenticate(u);
		}
		break;
	case UP_AUTHCHALLENGE: {
		const char *sh = find_kv(line + 4, "SERVERHASH");
		const char *sn = find_kv(line + 4, "SERVERNONCE");
		uint8_t server_hash[SAFECOOKIE_HASH_LEN], want[SAFECOOKIE_HASH_LEN];
		uint8_t server_nonce[SAFECOOKIE_NONCE_LEN];
		uint8_t client_hash[SAFECOOKIE_HASH_LEN];
		char hex[2 * SAFECOOKIE_HASH_LEN + 1], cmd[128];
		if (sh == NULL || sn == NULL ||
		    hex_decode(sh, strcspn(sh, " "), server_hash,
		    sizeof(server_hash)) < 0 ||
		    hex_decode(sn, strcspn(sn, " "), server_nonce,
		    sizeof(server_nonce)) < 0) {
			finish(u, false, "malformed AUTHCHALLENGE reply");
			return;
		}
		torauth_safecookie(u->cookie, u->client_nonce,
		    sizeof(u->client_nonce), server_nonce, want, client_hash);
		if (!ct_memeq(want, server_hash, sizeof(want))) {
			finish(u, false, "tor's SAFECOOKIE server hash does not "
			    "match the cookie file (wrong --tor-cookie?)");
			return;
		}
		hex_encode(client_hash, sizeof(client_hash), hex);
		snprintf(cmd, sizeof(cmd), "AUTHENTICATE %s", hex);
		send_line(u, cmd);
		memwipe(cmd, sizeof(cmd));
		memwipe(client_hash, sizeof(client_hash));
		u->state = UP_AUTHENTICATE;
		break;
	}
	case UP_AUTHENTICATE:
		if (line[3] == ' ')
			u->state = UP_LISTENERS;
		break;
	case UP_LISTENERS: {
		static const char key[] = "net/listeners/control=";
		static const char skey[] = "net/listeners/socks=";
		static const char pkey[] = "process/pid=";
		if (strncmp(line + 4, pkey, sizeof(pkey) - 1) == 0) {
			const char *v = line + 4 + sizeof(pkey) - 1;
			size_t n = strspn(v, "0123456789");
			if (n > 0 && n < sizeof(u->pid) && v[n] == '\0')
				memcpy(u->pid, v, n + 1);
		} else if (strncmp(line + 4, key, sizeof(key) - 1) == 0) {
			free(u->listeners);
			u->listeners = xstrdup(line + 4 + sizeof(key) - 1);
		} else if (strncmp(line + 4, skey, sizeof(skey) - 1) == 0) {
			free(u->socks);
			u->socks = xstrdup(line + 4 + sizeof(skey) - 1);
		}
		if (line[3] == ' ')
			finish(u, true, NULL);
		break;
	}
	default:
		break;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	upstream_t *u = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (u->state != UP_READY && u->state != UP_FAILED) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > UPSTREAM_MAX_LINE)
				finish(u, false, "reply line from tor too long");
			break;
		}
		if (len > UPSTREAM_MAX_LINE)
			finish(u, false, "reply line from tor too long");
		else
			handle_line(u, line, len);
		free(line);
	}
	notify(u);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	upstream_t *u = arg;

	if (what & BEV_EVENT_CONNECTED) {
		socket_nodelay(bufferevent_getfd(bev), u->conf->addr.family);
		u->state = UP_PROTOCOLINFO;
		send_line(u, "PROTOCOLINFO 1");
		if (u->conf->hint->safecookie && send_challenge(u) == 0)
			u->challenge_sent = true;
		return;
	}
	if (what & BEV_EVENT_EOF)
		finish(u, false, "tor closed the connection");
	else
		finish(u, false, "cannot connect to tor at %s: %s",
		    u->conf->addr.text,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	notify(u);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	upstream_t *u = arg;
	finish(u, false, "tor did not answer within %u s",
	    u->conf->timeout_sec);
	notify(u);
}

upstream_t *
upstream_connect(struct event_base *base, const upstream_conf_t *conf,
    upstream_cb cb, void *arg)
{
	upstream_t *u = xzalloc(sizeof(*u));
	struct timeval tv = { conf->timeout_sec ? conf->timeout_sec : 10, 0 };

	u->conf = conf;
	u->cb = cb;
	u->arg = arg;
	u->state = UP_CONNECTING;
	u->serial = next_serial++;
	/* No deferred callbacks: the session inherits this bufferevent and
	 * its callbacks must run at once. (A connect() that fails at once
	 * is reported deferred by libevent anyway.) */
	u->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (u->bev == NULL)
		goto fail;
	bufferevent_setcb(u->bev, read_cb, NULL, event_cb, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	u->timer = evtimer_new(base, timeout_cb, u);
	if (u->timer == NULL)
		goto fail;
	evtimer_add(u->timer, &tv);
	if (bufferevent_socket_connect(u->bev,
	    (const struct sockaddr *)&conf->addr.ss, (int)conf->addr.len) < 0)
		goto fail;
	return u;
fail:
	upstream_free(u);
	return NULL;
}

struct bufferevent *
upstream_bev(upstream_t *u)
{
	return u->bev;
}

struct bufferevent *
upstream_take_bev(upstream_t *u)
{
	struct bufferevent *bev = u->bev;
	u->bev = NULL;
	return bev;
}

const char *
upstream_tor_version(const upstream_t *u)
{
	return u->version ? u->version : "unknown";
}

const char *
upstream_listeners(const upstream_t *u)
{
	return u->listeners;
}

const char *
upstream_socks_listeners(const upstream_t *u)
{
	return u->socks;
}

const char *
upstream_tor_pid(const upstream_t *u)
{
	return u->pid;
}

const uint8_t *
upstream_cookie(const upstream_t *u)
{
	return u->have_cookie ? u->cookie : NULL;
}

uint64_t
upstream_serial(const upstream_t *u)
{
	return u->serial;
}

uint64_t
upstream_next_serial(void)
{
	return next_serial;
}

void
upstream_free(upstream_t *u)
{
	if (u == NULL)
		return;
	if (u->bev != NULL)
		bufferevent_free(u->bev);
	if (u->timer != NULL)
		event_free(u->timer);
	free(u->cookiefile);
	free(u->version);
	free(u->listeners);
	free(u->socks);
	memwipe(u->cookie, sizeof(u->cookie));
	free(u);
}
