/*
 * builtin.c: the answers torgate gives itself, one row per command in
 * `builtins[]`. A command whose table row (cmdtab.h) says CMD_F_LOCAL is
 * always answered here; CMD_F_INTERCEPT means some of its forms are
 * (the handler returns false for the rest, which go on to the verdict).
 *
 * Authentication is torgate's, not tor's: a client reaches tor only
 * through its profile. Without --cookie-file, PROTOCOLINFO offers NULL,
 * AUTHENTICATE always succeeds, and AUTHCHALLENGE is answered with the
 * cookie torgate authenticated with itself (clients that verify the
 * server hash -- bitcoind, lnd, Bisq, Haveno -- are then satisfied).
 * With --cookie-file, torgate has a cookie of its own (torauth.h) and
 * asks for it as tor asks for its own: PROTOCOLINFO offers COOKIE and
 * SAFECOOKIE with that file (and not NULL: who may connect is then who
 * may read the file), AUTHCHALLENGE answers with it, and AUTHENTICATE
 * must bring it, or after AUTHCHALLENGE the SAFECOOKIE client hash;
 * anything else is refused with tor's words and the connection closed.
 * tor's own cookie is never shown nor used towards clients then.
 * Ownership commands are acknowledged and never reach the shared tor:
 * an application must never make it exit together with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>

#include "log.h"
#include "session_impl.h"
#include "torauth.h"
#include "util.h"

typedef bool (*builtin_fn)(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd);

static bool
do_protocolinfo(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	const torauth_client_t *own = s->g->client_auth;

	s->sent_protocolinfo = true;
	/* The path needs no escaping: config.c allows no '"' nor '\'. */
	if (own != NULL)
		reply_local(s, 0, "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"%s\"\r\n"
		    "250-VERSION Tor=\"%s\"\r\n250 OK", own->path,
		    torview_version(s->g->tor));
	else
		reply_local(s, 0, "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=NULL\r\n"
		    "250-VERSION Tor=\"%s\"\r\n250 OK",
		    torview_version(s->g->tor));
	return true;
}

/*
 * Decode AUTHCHALLENGE's client nonce v[0..vlen), as tor does: the value
 * itself if the arguments had a '"' anywhere (a QuotedString, already
 * decoded, or a bare word with a quote in it), else hex. NULL if it is
 * not hex or longer than SAFECOOKIE_CLIENT_NONCE_MAX.
 */
static uint8_t *
challenge_nonce(char *v, size_t vlen, bool quoted, size_t *nlen)
{
	uint8_t *nonce;

	if (quoted) {
		if (vlen > SAFECOOKIE_CLIENT_NONCE_MAX)
			return NULL;
		*nlen = vlen;
		nonce = xmalloc(vlen + 1);
		memcpy(nonce, v, vlen);
		return nonce;
	}
	*nlen = vlen / 2;
	nonce = xmalloc(*nlen + 1);
	if (*nlen > SAFECOOKIE_CLIENT_NONCE_MAX ||
	    hex_decode(v, vlen, nonce, *nlen) < 0) {
		free(nonce);
		return NULL;
	}
	return nonce;
}

/* Like tor's smartlist_split_string(" ", SPLIT_SKIP_SPACE, 2): the first
 * word ends at the first space (only a space), both parts trimmed. */
static void
split_first(const char *a, const char *end, const char **w, size_t *wlen,
    const char **rest)
{
	const char *sp;

	while (a < end && tor_isspace(*a))
		a++;
	*w = a;
	for (sp = a; sp < end && *sp != ' '; sp++)
		;
	*rest = sp < end ? sp + 1 : end;
	while (sp > a && tor_isspace(sp[-1]))
		sp--;
	*wlen = (size_t)(sp - a);
}

/*
 * AUTHCHALLENGE SAFECOOKIE <nonce>: answer as tor would, with torgate's
 * own cookie if it has one (then also keep the client hash AUTHENTICATE
 * must bring), else with tor's. Failures close the connection, as in
 * tor, but for arguments tor cannot parse at all.
 */
static bool
do_authchallenge(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	const char *end = cmd->args + cmd->args_len, *method, *rest;
	const torauth_client_t *own = s->g->client_auth;
	const uint8_t *cookie = own != NULL ? own->cookie :
	    torview_cookie(s->g->tor);
	size_t mlen, nlen = 0, vlen = 0;
	uint8_t *nonce;
	char *v = NULL;
	bool quoted = false;
	torauth_arg_t arg;
	uint8_t sn[SAFECOOKIE_NONCE_LEN], sh[SAFECOOKIE_HASH_LEN];
	char shx[2 * SAFECOOKIE_HASH_LEN + 1], snx[2 * SAFECOOKIE_NONCE_LEN + 1];

	split_first(cmd->args, end, &method, &mlen, &rest);
	if (mlen == 0) {
		reply_local(s, 0, "512 Bad arguments to AUTHCHALLENGE: Need "
		    "at least 1 argument(s)");
		return true;
	}
	arg = torauth_parse_arg(rest, (size_t)(end - rest), &v, &vlen,
	    &quoted);
	if (arg == TORAUTH_ARG_BAD) {
		reply_local(s, 0, "512 Bad arguments to AUTHCHALLENGE: Cannot "
		    "parse keyword argument(s)");
		return true;
	}
	if (!strn_case_eq(method, mlen, "SAFECOOKIE")) {
		reply_local(s, P_CLOSE, "513 AUTHCHALLENGE only supports "
		    "SAFECOOKIE authentication");
		goto done;
	}
	if (cookie == NULL) {
		reply_local(s, P_CLOSE, "515 Cookie authentication is disabled");
		goto done;
	}
	if (arg == TORAUTH_ARG_NONE || arg == TORAUTH_ARG_MANY) {
		reply_local(s, P_CLOSE, "512 Wrong number of arguments for "
		    "AUTHCHALLENGE");
		goto done;
	}
	if (arg == TORAUTH_ARG_KEYWORD) {
		reply_local(s, P_CLOSE, "512 AUTHCHALLENGE does not accept "
		    "keyword arguments.");
		goto done;
	}
	if ((nonce = challenge_nonce(v, vlen, quoted, &nlen)) == NULL) {
		reply_local(s, P_CLOSE, quoted ?
		    "513 Invalid quoted client nonce" :
		    "513 Invalid base16 client nonce");
		goto done;
	}
	if (random_bytes(sn, sizeof(sn)) < 0) {
		memwipe(nonce, nlen);
		free(nonce);
		log_warn("session %llu: getrandom", (unsigned long long)s->id);
		reply_local(s, P_CLOSE, "551 Internal error");
		goto done;
	}
	torauth_safecookie(cookie, nonce, nlen, sn, sh,
	    own != NULL ? s->sc_hash : NULL);
	s->sc_pending = own != NULL;
	memwipe(nonce, nlen);   /* tor wipes AUTHCHALLENGE (CMD_FL_WIPE) */
	free(nonce);
	hex_encode_upper(sh, sizeof(sh), shx);
	hex_encode_upper(sn, sizeof(sn), snx);
	s->got_challenge = true;
	reply_local(s, 0, "250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=%s",
	    shx, snx);
done:
	if (v != NULL) {
		memwipe(v, vlen);
		free(v);
	}
	return true;
}

/*
 * Without a cookie of torgate's own, access is decided by the profile
 * alone: any AUTHENTICATE succeeds. With one, AUTHENTICATE must bring
 * it (or the SAFECOOKIE client hash), checked as tor checks its own.
 */
static bool
do_authenticate(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	const torauth_client_t *own = s->g->client_auth;

	if (own != NULL) {
		bool sc = s->sc_pending;
		torauth_check_t r = torauth_check(cmd->args, cmd->args_len,
		    own->cookie, sc ? s->sc_hash : NULL);

		if (r == TORAUTH_E_PARSE) {
			reply_local(s, 0, "%s", torauth_check_reply(r, sc));
			return true;
		}
		if (sc) {
			memwipe(s->sc_hash, sizeof(s->sc_hash));
			s->sc_pending = false;
		}
		if (r != TORAUTH_OK) {
			/* Never the value: only which check failed. */
			log_warnx("session %llu: authentication failed: %s",
			    (unsigned long long)s->id,
			    torauth_check_reply(r, sc));
			reply_local(s, P_CLOSE, "%s",
			    torauth_check_reply(r, sc));
			return true;
		}
		log_info("session %llu: authenticated with torgate's cookie "
		    "(%s)", (unsigned long long)s->id,
		    sc ? "SAFECOOKIE" : "COOKIE");
	}
	if (s->state == S_PREAUTH) {
		s->state = S_OPEN;
		s->creader.max_line = s->g->limits.max_line;
		s->creader.no_multiline = false;
	}
	reply_local(s, 0, "250 OK");
	return true;
}

static bool
do_quit(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	reply_local(s, P_CLOSE, "250 closing connection");
	return true;
}

static bool
do_ownership(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	reply_local(s, 0, "250 OK");
	return true;
}

/* Is this SETCONF/RESETCONF only about __OwningControllerProcess? */
static bool
is_owning_controller_only(const proto_cmd_t *cmd)
{
	static const char key[] = "__OwningControllerProcess";
	const char *a = cmd->args, *end = cmd->args + cmd->args_len;

	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - a) < sizeof(key) - 1 ||
	    strncasecmp(a, key, sizeof(key) - 1) != 0)
		return false;
	a += sizeof(key) - 1;
	if (a == end)
		return true;
	if (*a != '=')
		return false;
	/* The value must be a single token: a PID or a quoted PID. */
	for (a++; a < end; a++)
		if (*a == ' ' || *a == '\t')
			return false;
	return true;
}

static bool
do_owning_controller(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd)
{
	if (!is_owning_controller_only(cmd))
		return false;
	log_info("session %llu: %s of __OwningControllerProcess answered "
	    "locally", (unsigned long long)s->id, def->name);
	reply_local(s, 0, "250 OK");
	return true;
}

static const builtin_fn builtins[CMD_COUNT] = {
	[CMD_AUTHCHALLENGE] = do_authchallenge,
	[CMD_AUTHENTICATE] = do_authenticate,
	[CMD_DROPOWNERSHIP] = do_ownership,
	[CMD_PROTOCOLINFO] = do_protocolinfo,
	[CMD_QUIT] = do_quit,
	[CMD_RESETCONF] = do_owning_controller,
	[CMD_SETCONF] = do_owning_controller,
	[CMD_TAKEOWNERSHIP] = do_ownership,
};

bool
builtin_table_complete(void)
{
	for (int i = 0; i < CMD_COUNT; i++) {
		const cmd_def_t *def = cmdtab_get((cmd_id_t)i);
		bool flagged = def->flags & (CMD_F_LOCAL | CMD_F_INTERCEPT);
		if (flagged != (builtins[i] != NULL))
			return false;
	}
	return true;
}

/*
 * Like tor (is_valid_initial_command): before AUTHENTICATE only the
 * CMD_F_PREAUTH commands, each as often as its row here allows:
 * PROTOCOLINFO once and not after AUTHCHALLENGE, AUTHCHALLENGE once.
 */
static bool
preauth_protocolinfo(const session_t *s)
{
	return !s->sent_protocolinfo && !s->got_challenge;
}

static bool
preauth_authchallenge(const session_t *s)
{
	return !s->got_challenge;
}

static bool (*const preauth_again[CMD_COUNT])(const session_t *) = {
	[CMD_AUTHCHALLENGE] = preauth_authchallenge,
	[CMD_PROTOCOLINFO] = preauth_protocolinfo,
};

bool
builtin_allowed_before_auth(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd)
{
	if (def == NULL || cmd->multiline || !(def->flags & CMD_F_PREAUTH))
		return false;
	return preauth_again[def->id] == NULL || preauth_again[def->id](s);
}

bool
builtin_answer(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	if (!(def->flags & (CMD_F_LOCAL | CMD_F_INTERCEPT)) ||
	    builtins[def->id] == NULL)
		return false;
	return builtins[def->id](s, def, cmd);
}
