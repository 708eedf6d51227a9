/*
 * router.c: see router.h. The shape of each command's reply is one row
 * in `shapes[]`, read from tor's handlers (src/feature/control/); its
 * comment says what tor sends and where tor sends more or fewer than one
 * reply. Answers torgate gives itself (CMD_F_LOCAL) never reach tor from
 * a client; their rows say what tor would send.
 *
 * Whatever tor does outside the commands' own replies:
 * - 650 events come between replies, never inside one (tor queues them
 *   and flushes them from its main loop); relay.c takes them out before
 *   a line reaches the router.
 * - QUIT: "250 closing connection", then tor closes. torgate answers QUIT
 *   itself and closes the upstream connection with the session.
 * - AUTHENTICATE failing: "515 Authentication failed: ..." and tor
 *   closes. torgate authenticates to tor itself (upstream.c) before any
 *   client command, and answers clients' AUTHENTICATE itself.
 * - Before authentication anything but PROTOCOLINFO, AUTHCHALLENGE,
 *   AUTHENTICATE and QUIT gets "514 Authentication required." and a close.
 * - A line over 1 MB: "500 Line too long." and a close (torgate's limits
 *   are lower).
 * - Once tor has marked the connection for close it answers nothing.
 * Each of these ends the upstream connection, which ends the session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvline.h"
#include "router.h"
#include "util.h"

/*
 * What tor 0.4.x sends per command. "one line" is one EndReplyLine. Every
 * command may also get "512 Bad arguments to CMD: ..." (one line) when
 * tor's argument syntax rejects it.
 */
static const reply_shape_t shapes[CMD_COUNT] = {
	/* 250-ServiceID=, 250-PrivateKey=, 250-ClientAuthV3=..., 250 OK;
	 * or one 512/513/550/551/552 line. NEVER answered when a keyword
	 * argument is ClientAuth= (v2 auth: tor's handler reaches
	 * "unreachable" and writes nothing). */
	[CMD_ADD_ONION] = RS_ADD_ONION,
	/* 250 OK, or 552/555/551. */
	[CMD_ATTACHSTREAM] = RS_DONE,
	/* Local. tor: "250 AUTHCHALLENGE SERVERHASH=.. SERVERNONCE=..", or
	 * 512/513/515 and a close. */
	[CMD_AUTHCHALLENGE] = RS_LINE,
	/* Local. tor: 250 OK, or 512/515/551 and a close on failure. */
	[CMD_AUTHENTICATE] = RS_DONE,
	/* 250 OK, or 552. */
	[CMD_CLOSECIRCUIT] = RS_DONE,
	/* 250 OK, or 552. */
	[CMD_CLOSESTREAM] = RS_DONE,
	/* 250 OK, or 512/552. */
	[CMD_DEL_ONION] = RS_DONE,
	/* 250 OK. */
	[CMD_DROPGUARDS] = RS_DONE,
	/* Local. tor: 250 OK. */
	[CMD_DROPOWNERSHIP] = RS_DONE,
	/* 250 OK. */
	[CMD_DROPTIMEOUTS] = RS_DONE,
	/* "250 EXTENDED <id>", or 512/551/552. */
	[CMD_EXTENDCIRCUIT] = RS_LINE,
	/* 250[-+ ]KEY[=VALUE] for each key (a virtual or multi-valued option
	 * gives several lines, an abbreviation its canonical name; a value
	 * with CR/LF becomes a data block, which, last, leaves the reply
	 * without an end line), or 552 per unknown key; 250 OK for no key. */
	[CMD_GETCONF] = RS_CONF,
	/* 250-KEY=VALUE or 250+KEY= and data, per key in order, then 250 OK;
	 * or 552 per unknown key (and nothing else), or one 551. */
	[CMD_GETINFO] = RS_KEYS,
	/* 250 OK (sent before the fetch starts), or 513/552. */
	[CMD_HSFETCH] = RS_DONE,
	/* 250 OK, or 512/552/554. NEVER answered without HSADDRESS= (the
	 * v2 branch is gone and nothing else replies). */
	[CMD_HSPOST] = RS_DONE,
	/* 250 OK, or 550/552/553. */
	[CMD_LOADCONF] = RS_DONE,
	/* One line per mapping, 250-, 512- and 451- mixed in one reply; or
	 * one 512. */
	[CMD_MAPADDRESS] = RS_ANY,
	/* 250 OK, 251 or 252, or 512/552/553. TWICE when ClientName is over
	 * 16 characters: 512, then the credentials are registered anyway and
	 * 250/251/252/553 follows (or a second 512 for bad Flags). */
	[CMD_ONION_CLIENT_AUTH_ADD] = RS_LINE,
	/* 250 OK or 251, or 512. */
	[CMD_ONION_CLIENT_AUTH_REMOVE] = RS_LINE,
	/* 250-ONION_CLIENT_AUTH_VIEW [addr], 250-CLIENT ..., 250 OK; or
	 * 512. */
	[CMD_ONION_CLIENT_AUTH_VIEW] = RS_ANY,
	/* 250 OK, 251 (not added), or 552/554. */
	[CMD_POSTDESCRIPTOR] = RS_LINE,
	/* Local. tor: 250-PROTOCOLINFO 1, 250-AUTH ..., 250-VERSION ...,
	 * 250 OK; or 513 (and a close before authentication). */
	[CMD_PROTOCOLINFO] = RS_ANY,
	/* Local. tor: "250 closing connection" and a close. */
	[CMD_QUIT] = RS_LINE,
	/* 250 OK, or 512/552. */
	[CMD_REDIRECTSTREAM] = RS_DONE,
	/* 250 OK, or 513/552/553. */
	[CMD_RESETCONF] = RS_DONE,
	/* 250 OK; the answers come as ADDRMAP events. */
	[CMD_RESOLVE] = RS_DONE,
	/* 250 OK, or 551. */
	[CMD_SAVECONF] = RS_DONE,
	/* 250 OK, or 552. */
	[CMD_SETCIRCUITPURPOSE] = RS_DONE,
	/* 250 OK, or 513/552/553. */
	[CMD_SETCONF] = RS_DONE,
	/* 250 OK, or 552. */
	[CMD_SETEVENTS] = RS_DONE,
	/* 511 "... is obsolete." (torgate answers it itself). */
	[CMD_SETROUTERPURPOSE] = RS_LINE,
	/* 250 OK, or 552. SHUTDOWN/HALT: 250 OK, then tor exits. */
	[CMD_SIGNAL] = RS_DONE,
	/* Local. tor: 250 OK. */
	[CMD_TAKEOWNERSHIP] = RS_DONE,
	/* 250 OK, or 552. */
	[CMD_USEFEATURE] = RS_DONE,
};

reply_shape_t
router_shape(cmd_id_t cmd)
{
	return cmd < CMD_COUNT ? shapes[cmd] : RS_ANY;
}

/* ---- setting up ------------------------------------------------------- */

static void
copy_key(char dst[ROUTER_FENCE_KEY_SIZE], const char *src)
{
	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	snprintf(dst, ROUTER_FENCE_KEY_SIZE, "%s", src);
}

void
router_expect_init(router_expect_t *x, cmd_id_t cmd, bool checked,
    const char *args, size_t args_len, const char *fence_in,
    const char *fence_out)
{
	memset(x, 0, sizeof(*x));
	x->checked = checked;
	x->shape = router_shape(cmd);
	if (checked) {
		copy_key(x->fence_in, fence_in);
		copy_key(x->fence_out, fence_out);
	}
	x->phase = checked && x->fence_in[0] ? RX_FENCE_IN : RX_REPLY;
	if (checked && (x->shape == RS_KEYS || x->shape == RS_CONF)) {
		/* The keys as tor splits them (words_split()). */
		words_t w;
		size_t len = 0;
		char *p;

		words_split(args, args_len, &w);
		for (size_t i = 0; i < w.n; i++)
			len += strlen(w.v[i]) + 1;
		x->keys = p = xmalloc(len + 1);
		for (size_t i = 0; i < w.n; i++) {
			size_t n = strlen(w.v[i]) + 1;
			memcpy(p, w.v[i], n);
			p += n;
		}
		*p = '\0';
		x->n_keys = w.n;
		x->key = x->keys;
		words_clear(&w);
	}
}

void
router_expect_clear(router_expect_t *x)
{
	free(x->keys);
	memset(x, 0, sizeof(*x));
}

void
router_fence_key(const uint8_t rnd[ROUTER_FENCE_RANDOM],
    char key[ROUTER_FENCE_KEY_SIZE])
{
	size_t n = sizeof(ROUTER_FENCE_PREFIX) - 1;

	memcpy(key, ROUTER_FENCE_PREFIX, n);
	hex_encode(rnd, ROUTER_FENCE_RANDOM, key + n);
	key[ROUTER_FENCE_KEY_SIZE - 1] = '\0';
}

/* ---- judging lines ---------------------------------------------------- */

static int
code_of(const char *text)
{
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

/* A code a reply may carry: 2xx, 4xx or 5xx. */
static bool
reply_code(int code)
{
	return code / 100 == 2 || code / 100 == 4 || code / 100 == 5;
}

static bool
text_is(const char *text, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(text, s, len) == 0;
}

/* Is this line tor's answer to the fence with this key? */
static bool
is_fence_line(const proto_reply_line_t *line, const char *text,
    const char *key)
{
	static const char head[] = "552 Unrecognized key \"";
	size_t klen = strlen(key), hl = sizeof(head) - 1;

	return !line->is_data && line->starts_msg && line->ends_msg &&
	    line->text_len == hl + klen + 1 &&
	    memcmp(text, head, hl) == 0 &&
	    memcmp(text + hl, key, klen) == 0 && text[hl + klen] == '"';
}

/* Does a line carry a fence key (its own fence's answer, or one tor
 * was made to echo)? */
static bool
has_fence_mark(const char *text, size_t len)
{
	return memmem(text, len, ROUTER_FENCE_PREFIX,
	    sizeof(ROUTER_FENCE_PREFIX) - 1) != NULL;
}

/* A single line closing the reply: "250 OK" or an error line. */
static bool
done_line(const proto_reply_line_t *line, const char *text, int code)
{
	if (!line->starts_msg || !line->ends_msg)
		return false;
	if (code == 250)
		return text_is(text, line->text_len, "250 OK");
	return code / 100 == 4 || code / 100 == 5;
}

/* Does text[4..] start with "KEY=" for this key? */
static bool
echoes_key(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);

	return len >= 4 + klen + 1 && memcmp(text + 4, key, klen) == 0 &&
	    text[4 + klen] == '=';
}

static void
next_key(router_expect_t *x)
{
	x->key += strlen(x->key) + 1;
	x->key_i++;
}

/*
 * What GETINFO and GETCONF replies share, key by key: a data line only
 * inside a 250 reply; unknown keys as 552 lines only, at most one per key;
 * any other error as one line. *decided: the line was judged here (the
 * result is returned); else it is a 250 line for the caller to read.
 */
static bool
fits_per_key(const router_expect_t *x, const proto_reply_line_t *line,
    int code, bool *decided)
{
	*decided = true;
	if (line->is_data)
		return x->first_code == 250;
	if (x->first_code != 250) {
		if (x->first_code == 552)
			return code == 552 && x->n_lines <= x->n_keys;
		return line->starts_msg && line->ends_msg;
	}
	if (code != 250)
		return false;
	*decided = false;
	return true;
}

/*
 * GETINFO. Answers: per key in order, "250-KEY=VALUE" or "250+KEY="
 * (then a data block), then "250 OK". Unknown keys: only 552 lines, at
 * most one per key. Or one error line.
 */
static bool
fits_keys(router_expect_t *x, const proto_reply_line_t *line,
    const char *text, int code)
{
	bool decided;
	bool ok = fits_per_key(x, line, code, &decided);

	if (decided)
		return ok;
	if (line->sep == ' ')
		return x->key_i == x->n_keys &&
		    text_is(text, line->text_len, "250 OK");
	if (x->key_i == x->n_keys ||
	    !echoes_key(text, line->text_len, x->key))
		return false;
	if (line->sep == '+' &&
	    line->text_len != 4 + strlen(x->key) + 1)
		return false;
	next_key(x);
	return true;
}

/* A GETCONF key: option names are letters, digits and '_'. */
static bool
conf_key_line(const char *text, size_t len, char sep)
{
	size_t i = 4;

	while (i < len && text[i] != '=') {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return false;
		i++;
	}
	if (i == 4)
		return false;
	/* A data block starts with "KEY=" and nothing after. */
	return sep != '+' || i + 1 == len;
}

/*
 * GETCONF. Answers: 250 lines KEY or KEY=VALUE, at least one per key
 * (abbreviations and virtual options make the keys differ from those
 * asked for, so only their form is checked), "250 OK" only when no key
 * was asked for. Unknown keys: only 552 lines, at most one per key. Or
 * one error line.
 */
static bool
fits_conf(router_expect_t *x, const proto_reply_line_t *line,
    const char *text, int code)
{
	bool decided;
	bool ok = fits_per_key(x, line, code, &decided);

	if (decided)
		return ok;
	if (x->n_keys == 0)
		return line->starts_msg && line->ends_msg &&
		    text_is(text, line->text_len, "250 OK");
	if (text_is(text, line->text_len, "250 OK") ||
	    !conf_key_line(text, line->text_len, line->sep))
		return false;
	if (line->ends_msg && x->n_lines < x->n_keys)
		return false;
	return true;
}

/* ADD_ONION: "250-ServiceID=" first, "250 OK" last; or an error line. */
static bool
fits_add_onion(router_expect_t *x, const proto_reply_line_t *line,
    const char *text, int code)
{
	static const char sid[] = "250-ServiceID=";

	if (line->is_data)
		return false;
	if (x->first_code != 250)
		return line->starts_msg && line->ends_msg;
	if (code != 250)
		return false;
	if (line->starts_msg)
		return line->sep == '-' && line->text_len > sizeof(sid) - 1 &&
		    memcmp(text, sid, sizeof(sid) - 1) == 0;
	if (line->sep == ' ')
		return text_is(text, line->text_len, "250 OK");
	return line->sep == '-';
}

/* Does this line (of the checked command's own reply) fit its shape? */
static bool
fits(router_expect_t *x, const proto_reply_line_t *line, const char *text)
{
	int code = line->is_data ? 0 : code_of(text);

	if (!line->is_data) {
		if (!reply_code(code))
			return false;
		if (line->starts_msg)
			x->first_code = code;
		x->n_lines++;
	}
	switch (x->shape) {
	case RS_ANY:
		return true;
	case RS_LINE:
		return line->starts_msg && line->ends_msg;
	case RS_DONE:
		return done_line(line, text, code);
	case RS_KEYS:
		return fits_keys(x, line, text, code);
	case RS_CONF:
		return fits_conf(x, line, text, code);
	case RS_ADD_ONION:
		return fits_add_onion(x, line, text, code);
	}
	return false;
}

/* Judge one line; router_line() makes a desync final. */
static route_t
judge(router_expect_t *x, const proto_reply_line_t *line, const char *text,
    bool *done, const char **why)
{
	if (!x->checked) {
		if (x->phase != RX_REPLY)
			goto after_end;
		if (line->ends_msg) {
			x->phase = RX_DONE;
			*done = true;
		}
		return ROUTE_PASS;
	}
	switch (x->phase) {
	case RX_FENCE_IN:
		if (!is_fence_line(line, text, x->fence_in)) {
			*why = "a reply came before the command's own";
			return ROUTE_DESYNC;
		}
		x->phase = RX_REPLY;
		return ROUTE_SWALLOW;
	case RX_REPLY:
		if (has_fence_mark(text, line->text_len)) {
			*why = "the command got no reply of its own";
			return ROUTE_DESYNC;
		}
		if (!fits(x, line, text)) {
			*why = "the reply does not fit the command";
			return ROUTE_DESYNC;
		}
		if (line->ends_msg)
			x->phase = RX_FENCE_OUT;
		return ROUTE_PASS;
	case RX_FENCE_OUT:
		if (!is_fence_line(line, text, x->fence_out)) {
			*why = "the command got more than one reply";
			return ROUTE_DESYNC;
		}
		x->phase = RX_DONE;
		*done = true;
		return ROUTE_SWALLOW;
	case RX_DONE:
	case RX_DESYNC:
		break;
	}
after_end:
	*why = x->phase == RX_DESYNC ? "tor's replies were already out of step" :
	    "a line after the command's reply ended";
	return ROUTE_DESYNC;
}

route_t
router_line(router_expect_t *x, const proto_reply_line_t *line,
    const char *text, bool *done, const char **why)
{
	route_t r;

	*done = false;
	*why = NULL;
	r = judge(x, line, text, done, why);
	if (r == ROUTE_DESYNC)
		x->phase = RX_DESYNC;
	return r;
}

/* ---- forms tor answers twice or never ---------------------------------- */

/* The next whitespace-separated word of args[0..len) from *i: its
 * bounds in *w, *wlen; false at the end. */
static bool
next_word(const char *args, size_t len, size_t *i, const char **w,
    size_t *wlen)
{
	size_t start;

	while (*i < len && tor_isspace(args[*i]))
		(*i)++;
	if (*i == len)
		return false;
	start = *i;
	while (*i < len && !tor_isspace(args[*i]))
		(*i)++;
	*w = args + start;
	*wlen = *i - start;
	return true;
}

/* Is word w a KEY=... argument with this key (any case)? */
static bool
is_kwarg(const char *w, size_t wlen, const char *key)
{
	size_t klen = strlen(key);

	return wlen > klen && w[klen] == '=' && strncasecmp(w, key, klen) == 0;
}

/* Is any word of args a KEY=... argument with this key? *vlen: the
 * length of its value as written (to the end of the arguments if it is
 * quoted: a quoted value may hold spaces). */
static bool
find_kwarg(const char *args, size_t len, const char *key, size_t *vlen)
{
	const char *w;
	size_t i = 0, wlen;

	while (next_word(args, len, &i, &w, &wlen)) {
		if (is_kwarg(w, wlen, key)) {
			const char *v = w + strlen(key) + 1;
			*vlen = *v == '"' ? (size_t)(args + len - v) :
			    wlen - strlen(key) - 1;
			return true;
		}
	}
	return false;
}

/* tor_parse_long(v, 10, 0, 65535, &ok, NULL) on v[0..len): strtol's
 * reading (a sign, leading zeros), the whole value, in range. */
static bool
maxstreams_ok(const char *v, size_t len)
{
	char *s = xmemdup_nul(v, len), *end;
	long n;
	bool ok;

	errno = 0;
	n = strtol(s, &end, 10);
	ok = errno != ERANGE && end != s && *end == '\0' && n >= 0 &&
	    n <= 65535;
	free(s);
	return ok;
}

/* ADD_ONION: would tor's handler, taking the keyword arguments in order,
 * reach a ClientAuth= one (and then answer nothing)? Earlier Flags= and
 * MaxStreams= are checked as tor does, so that tor's own error is kept
 * where it gives one; an earlier bad Port= is not (torgate's answer is
 * then an error in place of tor's). */
static bool
add_onion_reaches_clientauth(const char *args, size_t len)
{
	static const char *const flags[] = {
		"DiscardPK", "Detach", "MaxStreamsCloseCircuit", "V3Auth",
		"NonAnonymous",
	};
	const char *w;
	size_t i = 0, wlen;

	if (!next_word(args, len, &i, &w, &wlen))
		return false;           /* the key argument */
	while (next_word(args, len, &i, &w, &wlen)) {
		if (is_kwarg(w, wlen, "ClientAuth"))
			return true;
		if (is_kwarg(w, wlen, "MaxStreams")) {
			if (!maxstreams_ok(w + 11, wlen - 11))
				return false;
		} else if (is_kwarg(w, wlen, "Flags")) {
			size_t k = 6, n = 0;
			while (k < wlen) {
				size_t f = k, j;
				bool known = false;
				while (k < wlen && w[k] != ',')
					k++;
				if (k > f) {
					for (j = 0; j < 5; j++)
						known |= strlen(flags[j]) ==
						    k - f && strncasecmp(w + f,
						    flags[j], k - f) == 0;
					if (!known)
						return false;
					n++;
				}
				k++;
			}
			if (n == 0)
				return false;
		}
	}
	return false;
}

/* tor's REND_CLIENTNAME_MAX_LEN. */
#define CLIENTNAME_MAX 16

const char *
router_tor_misreplies(cmd_id_t cmd, const char *args, size_t args_len)
{
	size_t vlen;

	switch (cmd) {
	case CMD_ONION_CLIENT_AUTH_ADD:
		/* Twice. A quoted value counts with its quotes and escapes:
		 * longer than tor will see it, never shorter. */
		if (find_kwarg(args, args_len, "ClientName", &vlen) &&
		    vlen > CLIENTNAME_MAX)
			return "512 ClientName longer than 16 chars";
		return NULL;
	case CMD_HSPOST:
		/* Never: nothing to post to without HSADDRESS=. */
		if (!find_kwarg(args, args_len, "HSADDRESS", &vlen))
			return "512 HSPOST needs HSADDRESS=";
		return NULL;
	case CMD_ADD_ONION:
		/* Never: v2 client authorization is gone from tor. */
		if (add_onion_reaches_clientauth(args, args_len))
			return "512 Unrecognized keyword argument "
			    "\"ClientAuth\"";
		return NULL;
	default:
		return NULL;
	}
}
