/*
 * learn.c: see learn.h. Bounded: at most LEARN_MAX_NAMES clients and
 * LEARN_MAX_ITEMS distinct commands or events each; more is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "kvline.h"
#include "learn.h"
#include "log.h"
#include "regex.h"
#include "util.h"

#define LEARN_MAX_NAMES 256
#define LEARN_MAX_ITEMS 1024

typedef struct learned {
	char *name;
	bool local;
	char who[PATH_MAX];    /* label or exe */
	char user[64];
	char host[64];
	char **cmds;           /* "KEYWORD\\targs" */
	size_t n_cmds;
	char **events;
	size_t n_events;
} learned_t;

struct learn_set {
	char *dir;
	learned_t *v;
	size_t n;
};

learn_set_t *
learn_set_new(const char *dir)
{
	learn_set_t *l = xzalloc(sizeof(*l));
	l->dir = xstrdup(dir);
	return l;
}

void
learn_set_free(learn_set_t *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		learned_t *e = &l->v[i];
		for (size_t j = 0; j < e->n_cmds; j++)
			free(e->cmds[j]);
		for (size_t j = 0; j < e->n_events; j++)
			free(e->events[j]);
		free(e->cmds);
		free(e->events);
		free(e->name);
	}
	free(l->v);
	free(l->dir);
	free(l);
}

static learned_t *
get(learn_set_t *l, const char *name, const peer_t *peer)
{
	learned_t *e;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	if (l->n >= LEARN_MAX_NAMES)
		return NULL;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->local = peer->local;
	snprintf(e->who, sizeof(e->who), "%s",
	    peer->label[0] ? peer->label : peer->exe);
	snprintf(e->user, sizeof(e->user), "%s", peer->user);
	snprintf(e->host, sizeof(e->host), "%s", peer->host);
	return e;
}

static void
add_item(char ***v, size_t *n, char *item)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], item) == 0) {
			free(item);
			return;
		}
	if (*n >= LEARN_MAX_ITEMS) {
		free(item);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = item;
}

/* SETEVENTS teaches events, not a command rule. */
static void
learn_setevents(learn_set_t *l, const char *name, const peer_t *peer,
    const char *args, size_t len)
{
	words_t w;

	words_split(args, len, &w);
	for (size_t i = 0; i < w.n; i++) {
		int id = event_lookup(w.v[i], strlen(w.v[i]));
		if (id >= 0)
			learn_event(l, name, peer, event_name((event_id_t)id));
	}
	words_clear(&w);
}

/*
 * Secrets never reach a learned profile: where a command carries one
 * (tor's CMD_FL_WIPE commands and the password options), the learned
 * pattern has a class of the secret's shape instead of its bytes, exact
 * to what tor accepts. The marker before it is matched without regard to
 * case, as tor reads key types, and kept as the client sent it.
 */
static const struct {
	const char *marker;
	bool keep_name;         /* "name:secret": keep the name and ':' */
	const char *shape;
} secret_shapes[] = {
	/* ADD_ONION: a 64-byte expanded ed25519 key in base64
	 * (control_hs.c, add_onion_helper_keyarg) */
	{ "ED25519-V3:", false, "[A-Za-z0-9+/]{86}(?:==)?" },
	/* ADD_ONION: a DER RSA key in base64 (v2, refused by tor now) */
	{ "RSA1024:", false, "[A-Za-z0-9+/]{1,2048}={0,2}" },
	/* ONION_CLIENT_AUTH_ADD: a 32-byte x25519 key in base64 */
	{ "x25519:", false, "[A-Za-z0-9+/]{43}=?" },
	/* ADD_ONION ClientAuth=NAME:COOKIE (v2): a 16-byte cookie */
	{ "ClientAuth=", true, "[A-Za-z0-9+/]{22}(?:==)?" },
	/* SETCONF/RESETCONF: tor's S2K hash, "16:" and 29 bytes in hex,
	 * bare or quoted */
	{ "HashedControlPassword=", false,
	  "(?:16:[0-9A-Fa-f]{58}|\"16:[0-9A-Fa-f]{58}\")" },
	{ "HashedControlSessionPassword=", false,
	  "(?:16:[0-9A-Fa-f]{58}|\"16:[0-9A-Fa-f]{58}\")" },
};

/* End of the value at s[i]: a token, or a quoted string with escapes. */
static size_t
value_end(const char *s, size_t i, size_t n)
{
	if (i < n && s[i] == '"') {
		for (i++; i < n; i++) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '"')
				return i + 1;
		}
		return n;
	}
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

/*
 * The pattern for secret value v[0..n) after marker m: the marker's shape
 * if v has it; otherwise (tor will refuse it, but it may still be a
 * mistyped secret) any n bytes, so that the rule still allows what the
 * client sent and still holds none of it.
 */
static char *
shape_of(size_t m, const char *v, size_t n)
{
	static tg_regex_t *compiled[ARRAY_LEN(secret_shapes)];
	char err[128];
	size_t off;

	if (compiled[m] == NULL) {
		const char *sh = secret_shapes[m].shape;
		compiled[m] = regex_compile(sh, strlen(sh), err, sizeof(err),
		    &off);
		if (compiled[m] == NULL)
			fatalx("learn: shape '%s': %s", sh, err);
	}
	if (regex_exec(compiled[m], v, n, NULL) == REGEX_MATCH)
		return xstrdup(secret_shapes[m].shape);
	return xasprintf("(?s:.{%zu})", n);
}

/* Append s[0..n) to *out, regex-escaped. */
static void
add_escaped(char **out, size_t *len, const char *s, size_t n)
{
	char *e = learn_regex_escape(s, n);
	size_t el = strlen(e);

	*out = xreallocarray(*out, *len + el + 1, 1);
	memcpy(*out + *len, e, el + 1);
	*len += el;
	free(e);
}

char *
learn_pattern(const char *args, size_t n)
{
	char *out = xstrdup("");
	size_t len = 0, i = 0, copied = 0;

	while (i < n) {
		size_t m, mlen = 0, vs, ve;

		for (m = 0; m < ARRAY_LEN(secret_shapes); m++) {
			mlen = strlen(secret_shapes[m].marker);
			if (n - i >= mlen && strn_case_eq(args + i, mlen,
			    secret_shapes[m].marker))
				break;
		}
		if (m == ARRAY_LEN(secret_shapes)) {
			i++;
			continue;
		}
		vs = i + mlen;
		ve = value_end(args, vs, n);
		if (secret_shapes[m].keep_name) {
			const char *colon = memchr(args + vs, ':', ve - vs);
			if (colon == NULL) {
				i = ve;         /* a name only: no secret */
				continue;
			}
			vs = (size_t)(colon - args) + 1;
		}
		add_escaped(&out, &len, args + copied, vs - copied);
		if (ve > vs) {
			char *sh = shape_of(m, args + vs, ve - vs);
			size_t sl = strlen(sh);
			out = xreallocarray(out, len + sl + 1, 1);
			memcpy(out + len, sh, sl + 1);
			len += sl;
			free(sh);
		}
		copied = i = ve > vs ? ve : vs;
	}
	add_escaped(&out, &len, args + copied, n - copied);
	return out;
}

/* Commands recorded otherwise than as a command rule. */
static void (*const learn_as[CMD_COUNT])(learn_set_t *, const char *,
    const peer_t *, const char *, size_t) = {
	[CMD_SETEVENTS] = learn_setevents,
};

void
learn_command(learn_set_t *l, const char *name, const peer_t *peer,
    const cmd_def_t *def, const char *args, size_t len)
{
	learned_t *e;
	char *pat;

	if (learn_as[def->id] != NULL) {
		learn_as[def->id](l, name, peer, args, len);
		return;
	}
	e = get(l, name, peer);
	if (e == NULL || (def->flags & (CMD_F_LOCAL | CMD_F_SECRET)) ==
	    (CMD_F_LOCAL | CMD_F_SECRET))
		return;
	/* The pattern, not the arguments: no secret is ever stored. */
	pat = learn_pattern(args, len);
	add_item(&e->cmds, &e->n_cmds, xasprintf("%s\t%s", def->name, pat));
	free(pat);
}

void
learn_event(learn_set_t *l, const char *name, const peer_t *peer,
    const char *event)
{
	learned_t *e = get(l, name, peer);

	if (e != NULL)
		add_item(&e->events, &e->n_events, xstrdup(event));
}

char *
learn_regex_escape(const char *s, size_t len)
{
	char *out = xmalloc(2 * len + 1), *p = out;

	for (size_t i = 0; i < len; i++) {
		if (strchr("\\^$.|?*+()[]{}", s[i]) != NULL && s[i] != '\0')
			*p++ = '\\';
		*p++ = s[i];
	}
	*p = '\0';
	return out;
}

/* Write s as a YAML single-quoted scalar. */
static void
yq(FILE *fp, const char *s)
{
	fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', fp);
		fputc(*s, fp);
	}
	fputc('\'', fp);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
learn_write(const learn_set_t *l, const char *name)
{
	const learned_t *e = NULL;
	char path[PATH_MAX], tmp[PATH_MAX];
	char **cmds;
	FILE *fp;
	int fd;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			e = &l->v[i];
	if (e == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.yml", l->dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.yml.XXXXXX", l->dir, name);
	fd = mkstemp(tmp);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		log_warn("--learn: cannot write %s", path);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	cmds = xcalloc(e->n_cmds, sizeof(char *));
	memcpy(cmds, e->cmds, e->n_cmds * sizeof(char *));
	qsort(cmds, e->n_cmds, sizeof(char *), cmp_str);

	fprintf(fp, "# Suggested by torgate --learn from what the client sent.\n"
	    "# Review every rule before use: it allows exactly these commands.\n"
	    "---\n- name: ");
	yq(fp, name);
	fputc('\n', fp);
	if (e->local) {
		fprintf(fp, "  apparmor-profiles:\n    - ");
		yq(fp, e->who[0] ? e->who : "*");
		fprintf(fp, "\n  users:\n    - ");
		yq(fp, e->user[0] ? e->user : "*");
		fputc('\n', fp);
	} else {
		fprintf(fp, "  hosts:\n    - ");
		yq(fp, e->host);
		fputc('\n', fp);
	}
	if (e->n_cmds > 0)
		fprintf(fp, "  commands:\n");
	for (size_t i = 0; i < e->n_cmds; i++) {
		const char *tab = strchr(cmds[i], '\t');
		size_t kl = (size_t)(tab - cmds[i]);
		if (i == 0 || strncmp(cmds[i], cmds[i - 1], kl + 1) != 0)
			fprintf(fp, "    %.*s:\n", (int)kl, cmds[i]);
		fprintf(fp, "      - ");
		yq(fp, tab + 1);
		fputc('\n', fp);
	}
	if (e->n_events > 0)
		fprintf(fp, "  events:\n");
	for (size_t i = 0; i < e->n_events; i++)
		fprintf(fp, "    %s:\n", e->events[i]);
	free(cmds);
	if (fclose(fp) != 0 || rename(tmp, path) < 0) {
		log_warn("--learn: cannot write %s", path);
		unlink(tmp);
		return -1;
	}
	log_info("--learn: wrote %s", path);
	return 0;
}

void
learn_name(const peer_t *peer, const char *profile, char *out, size_t outlen)
{
	const char *src = profile;
	size_t o = 0;

	if (src == NULL || src[0] == '\0' || src[0] == '(') {
		const char *who = peer->label[0] ? peer->label : peer->exe;
		const char *slash = strrchr(who, '/');
		src = who[0] ? (slash ? slash + 1 : who) : peer->host;
	}
	for (; *src && o + 1 < outlen; src++)
		out[o++] = (char)((*src >= 'a' && *src <= 'z') ||
		    (*src >= 'A' && *src <= 'Z') || (*src >= '0' &&
		    *src <= '9') || *src == '-' || *src == '_' || *src == '.' ?
		    *src : '_');
	if (o == 0 || out[0] == '.')
		o = (size_t)snprintf(out, outlen, "client");
	out[o < outlen ? o : outlen - 1] = '\0';
}
