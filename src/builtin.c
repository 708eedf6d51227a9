/*
 * builtin.c: the answers torgate gives itself, one row per command in
 * `builtins[]`. A command whose table row (cmdtab.h) says CMD_F_LOCAL is
 * always answered here; CMD_F_INTERCEPT means some of its forms are
 * (the handler returns false for the rest, which go on to the verdict).
 *
 * Authentication is torgate's, not tor's: a client reaches tor only
 * through its profile, so PROTOCOLINFO offers NULL, AUTHENTICATE always
 * succeeds, and AUTHCHALLENGE is answered with the cookie torgate
 * authenticated with itself (clients that verify the server hash --
 * bitcoind, lnd, Bisq, Haveno -- are then satisfied). Ownership commands
 * are acknowledged and never reach the shared tor: an application must
 * never make it exit together with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>

#include "kvline.h"
#include "log.h"
#include "session_impl.h"
#include "torauth.h"
#include "util.h"

typedef bool (*builtin_fn)(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd);

static bool
do_protocolinfo(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	s->sent_protocolinfo = true;
	reply_local(s, 0, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n"
	    "250-VERSION Tor=\"%s\"\r\n250 OK", torview_version(s->g->tor));
	return true;
}

/* Decode AUTHCHALLENGE's client nonce (hex or QuotedString) into a new
 * buffer; NULL if malformed or longer than SAFECOOKIE_CLIENT_NONCE_MAX. */
static uint8_t *
challenge_nonce(const char *a, const char *end, size_t *nlen)
{
	uint8_t *nonce;

	if (*a == '"') {
		char *q;
		long used = kvline_unquote(a, (size_t)(end - a), &q, nlen);
		if (used != end - a) {
			if (used > 0)
				free(q);
			return NULL;
		}
		/* tor reads a quoted value with a NUL in it as no value at
		 * all (kvline), and bounds neither form but by its line. */
		if (*nlen > SAFECOOKIE_CLIENT_NONCE_MAX ||
		    memchr(q, '\0', *nlen) != NULL) {
			memwipe(q, *nlen);
			free(q);
			return NULL;
		}
		return (uint8_t *)q;
	}
	*nlen = (size_t)(end - a) / 2;
	nonce = xmalloc(*nlen + 1);
	if (*nlen > SAFECOOKIE_CLIENT_NONCE_MAX ||
	    hex_decode(a, (size_t)(end - a), nonce, *nlen) < 0) {
		free(nonce);
		return NULL;
	}
	return nonce;
}

/*
 * AUTHCHALLENGE SAFECOOKIE <nonce>: answer as tor would. Failures close
 * the connection, as in tor.
 */
static bool
do_authchallenge(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	const char *a = cmd->args, *end = cmd->args + cmd->args_len;
	const char *method = a;
	const uint8_t *cookie = torview_cookie(s->g->tor);
	size_t mlen, nlen = 0;
	uint8_t *nonce;
	uint8_t sn[SAFECOOKIE_NONCE_LEN], sh[SAFECOOKIE_HASH_LEN];
	char shx[2 * SAFECOOKIE_HASH_LEN + 1], snx[2 * SAFECOOKIE_NONCE_LEN + 1];

	while (a < end && *a != ' ' && *a != '\t')
		a++;
	mlen = (size_t)(a - method);
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		end--;

	if (!strn_case_eq(method, mlen, "SAFECOOKIE")) {
		reply_local(s, P_CLOSE, "513 AUTHCHALLENGE only supports "
		    "SAFECOOKIE authentication");
		return true;
	}
	if (cookie == NULL) {
		reply_local(s, P_CLOSE, "515 Cookie authentication is disabled");
		return true;
	}
	if (a == end || memchr(a, ' ', (size_t)(end - a)) != NULL) {
		reply_local(s, P_CLOSE, "512 Wrong number of arguments for "
		    "AUTHCHALLENGE");
		return true;
	}
	if ((nonce = challenge_nonce(a, end, &nlen)) == NULL) {
		reply_local(s, P_CLOSE, *a == '"' ?
		    "513 Invalid quoted client nonce" :
		    "513 Invalid base16 client nonce");
		return true;
	}
	if (random_bytes(sn, sizeof(sn)) < 0) {
		free(nonce);
		log_warn("session %llu: getrandom", (unsigned long long)s->id);
		reply_local(s, P_CLOSE, "551 Internal error");
		return true;
	}
	torauth_safecookie(cookie, nonce, nlen, sn, sh, NULL);
	memwipe(nonce, nlen);   /* tor wipes AUTHCHALLENGE (CMD_FL_WIPE) */
	free(nonce);
	hex_encode_upper(sh, sizeof(sh), shx);
	hex_encode_upper(sn, sizeof(sn), snx);
	s->got_challenge = true;
	reply_local(s, 0, "250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=%s",
	    shx, snx);
	return true;
}

/* Access is decided by the profile, not by a password. */
static bool
do_authenticate(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
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
