/*
 * config.c: command line and config file. See config.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "torgate_build.h"

#include "config.h"
#include "util.h"

#define DEFAULT_TOR "unix:/run/tor/control"

/* Anyone may connect to the unix socket, as anyone local may to the TCP
 * port: torgate tells clients apart by who they are (uid, program,
 * AppArmor label), and one no profile matches gets nothing. The same as
 * debian/torgate.socket. */
static const char *const default_listens[] = {
	"unix:/run/torgate/control,mode=0666",
	"127.0.0.1:951",
};

static const char *const default_profile_dirs[] = {
	"/etc/torgate/profiles.d",
	"/usr/share/torgate/profiles",
	"/etc/onion-grater.d",
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: torgate [OPTIONS]\n"
"  -l, --listen ADDR        repeatable: unix:/PATH | HOST:PORT | [V6]:PORT\n"
"                           with options after commas:\n"
"                           unix:/PATH,mode=0660,group=NAME,profile=NAME\n"
"                           (not needed when systemd passes the sockets)\n"
"  -t, --tor ADDR           tor's control: unix:/PATH | HOST:PORT (default %s)\n"
"      --tor-cookie PATH    cookie file (default: the COOKIEFILE that PROTOCOLINFO names)\n"
"      --tor-password-file PATH\n"
"  -p, --profiles DIR       repeatable; loads *.yml and *.yaml (onion-grater format)\n"
"  -c, --config FILE        optional YAML file with the same settings; flags win\n"
"  -f, --foreground         stay in the foreground, log to stderr\n"
"      --debug              log every line in both directions (secrets redacted)\n"
"      --check              load the config and all profiles, print every problem\n"
"                           as FILE:LINE:COL: error: message, exit 0 if there is\n"
"                           no error (a profile directory given that does not\n"
"                           exist is one)\n"
"      --complain           forward everything; log what the profile would deny\n"
"      --learn DIR          like --complain, and write DIR/NAME.yml, a suggested\n"
"                           profile of what each client sent\n"
"      --state-dir DIR      keep the owners of detached onion services in DIR,\n"
"                           so that they survive a restart of torgate\n"
"      --tor-wait-commands N  while tor is away, commands a client may have\n"
"                           waiting for it (default 64; more get 550)\n"
"      --tor-wait-ms MS     how long they, or a new client, wait (default 10000)\n"
"      --tor-retry-max-ms MS  longest pause between tries to reach tor again\n"
"                           (100 ms doubling to this; default 5000)\n"
"      --max-clients-per-user N\n"
"                           connections one uid (local) or address (remote)\n"
"                           may hold (default 64)\n"
"      --auth-timeout SECONDS\n"
"                           close a client that has not sent AUTHENTICATE\n"
"                           this long after connecting (default 30)\n"
"      --cookie-file PATH[,mode=0640][,group=NAME]\n"
"                           make a fresh cookie of torgate's own at PATH at\n"
"                           start; clients must then authenticate with it\n"
"                           (COOKIE or SAFECOOKIE; NULL is no longer offered)\n"
"  -u, --user USER          serve clients as USER (required when started as\n"
"                           root): its uid, gid and groups, no capabilities\n"
"      --no-sandbox         load no seccomp filter (for debugging; privileges\n"
"                           are still dropped)\n"
"      --version, --help\n", DEFAULT_TOR);
}

static int
add_listen(config_t *cfg, const char *s, const char *where)
{
	char err[512];
	listen_spec_t l;

	if (listen_spec_parse(s, &l, err, sizeof(err)) < 0) {
		if (where != NULL)
			fprintf(stderr, "%s: %s\n", where, err);
		else
			fprintf(stderr, "torgate: --listen: %s\n", err);
		return -1;
	}
	cfg->listens = xreallocarray(cfg->listens, cfg->n_listens + 1,
	    sizeof(*cfg->listens));
	cfg->listens[cfg->n_listens++] = l;
	return 0;
}

static void
add_dir(config_t *cfg, const char *d)
{
	cfg->profile_dirs = xreallocarray(cfg->profile_dirs,
	    cfg->n_profile_dirs + 1, sizeof(char *));
	cfg->profile_dirs[cfg->n_profile_dirs++] = xstrdup(d);
}

static int
parse_size(const char *s, size_t min, size_t max, size_t *out)
{
	char *end;
	unsigned long long v;

	/* Digits only: strtoull would also take blanks and a sign. */
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (size_t)v;
	return 0;
}

/*
 * --cookie-file PATH[,mode=OCTAL][,group=NAME]. PATH is what PROTOCOLINFO
 * will name, so it must be absolute and need no escaping there: printable
 * ASCII without '"', '\' (or ',', which starts the options). The mode
 * lets no one but the owner write and nobody execute (at most 0644).
 */
static int
set_cookie_file(config_t *cfg, const char *spec, const char *where)
{
	const char *comma = strchr(spec, ',');
	size_t plen = comma != NULL ? (size_t)(comma - spec) : strlen(spec);
	unsigned mode = 0640;
	char *group = NULL;
	const char *problem = NULL;

	if (plen == 0 || spec[0] != '/' || spec[plen - 1] == '/')
		problem = "must be an absolute path to a file";
	else if (plen >= PATH_MAX)
		problem = "is too long";
	for (size_t i = 0; problem == NULL && i < plen; i++)
		if (spec[i] < 0x20 || spec[i] > 0x7e || spec[i] == '"' ||
		    spec[i] == '\\')
			problem = "must be printable ASCII without '\"' or "
			    "'\\' (PROTOCOLINFO names it to clients)";
	while (problem == NULL && comma != NULL) {
		const char *opt = comma + 1;
		size_t olen;

		comma = strchr(opt, ',');
		olen = comma != NULL ? (size_t)(comma - opt) : strlen(opt);
		if (olen > 5 && strncmp(opt, "mode=", 5) == 0) {
			char *end;
			unsigned long m;
			if (opt[5] < '0' || opt[5] > '7')
				m = ~0ul;
			else
				m = strtoul(opt + 5, &end, 8);
			if (m == ~0ul || end != opt + olen || (m & ~0644ul))
				problem = "mode= must be octal, at most 0644 "
				    "(only the owner may write, nobody execute)";
			else
				mode = (unsigned)m;
		} else if (olen > 6 && strncmp(opt, "group=", 6) == 0) {
			free(group);
			group = xstrndup(opt + 6, olen - 6);
		} else
			problem = "takes only mode=OCTAL and group=NAME after "
			    "the path";
	}
	if (problem != NULL) {
		/* In the file, as every config-file error reads. */
		if (where != NULL)
			fprintf(stderr, "%s: error: cookie-file %.*s: %s\n",
			    where, (int)plen, spec, problem);
		else
			fprintf(stderr, "torgate: --cookie-file %.*s: %s\n",
			    (int)plen, spec, problem);
		free(group);
		return -1;
	}
	free(cfg->cookie_file);
	free(cfg->cookie_group);
	cfg->cookie_file = xstrndup(spec, plen);
	cfg->cookie_mode = mode;
	cfg->cookie_group = group;
	return 0;
}

/* ---- config file ---------------------------------------------------- */

typedef struct file_ctx {
	const char *path;
	yaml_document_t *doc;
	int errors;
	config_t *cfg;
	bool cli_listens, cli_dirs, cli_tor, cli_cookie, cli_pw, cli_state;
	bool cli_user, cli_cookie_file;
} file_ctx_t;

static void
ferr(file_ctx_t *f, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ferr(file_ctx_t *f, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%zu:%zu: error: ", f->path,
	    n ? n->start_mark.line + 1 : 0, n ? n->start_mark.column + 1 : 0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	f->errors++;
}

static const char *
scalar(file_ctx_t *f, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		ferr(f, n, "'%s' must be a string", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static void
set_str(file_ctx_t *f, yaml_node_t *n, const char *key, char **dst, bool cli)
{
	const char *v = scalar(f, n, key);
	if (v == NULL || cli)
		return;
	free(*dst);
	*dst = xstrdup(v);
}

static int
set_limit(file_ctx_t *f, yaml_node_t *n, const char *key, size_t min,
    size_t max, size_t *dst)
{
	const char *v = scalar(f, n, key);
	if (v == NULL)
		return -1;
	if (parse_size(v, min, max, dst) < 0) {
		ferr(f, n, "'%s' must be a number from %zu to %zu", key, min,
		    max);
		return -1;
	}
	return 0;
}

static void
each_string(file_ctx_t *f, yaml_node_t *n, const char *key,
    void (*fn)(file_ctx_t *, yaml_node_t *, const char *))
{
	if (n->type != YAML_SEQUENCE_NODE) {
		ferr(f, n, "'%s' must be a list", key);
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(f->doc, *it);
		const char *v = scalar(f, e, key);
		if (v != NULL)
			fn(f, e, v);
	}
}

static void
file_listen(file_ctx_t *f, yaml_node_t *n, const char *v)
{
	char where[PATH_MAX + 64];

	if (f->cli_listens)
		return;
	snprintf(where, sizeof(where), "%s:%zu:%zu: error", f->path,
	    n->start_mark.line + 1, n->start_mark.column + 1);
	if (add_listen(f->cfg, v, where) < 0)
		f->errors++;
}

static void
file_dir(file_ctx_t *f, yaml_node_t *n, const char *v)
{
	if (!f->cli_dirs)
		add_dir(f->cfg, v);
}

static int
load_file(config_t *cfg, const char *path, bool cli_listens, bool cli_dirs,
    bool cli_tor, bool cli_cookie, bool cli_pw)
{
	FILE *fp = fopen(path, "r");
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	file_ctx_t f = { .path = path, .doc = &doc, .cfg = cfg,
		.cli_listens = cli_listens, .cli_dirs = cli_dirs,
		.cli_tor = cli_tor, .cli_cookie = cli_cookie, .cli_pw = cli_pw,
		.cli_state = cfg->state_dir != NULL,
		.cli_user = cfg->user != NULL,
		.cli_cookie_file = cfg->cookie_file != NULL };

	if (fp == NULL) {
		fprintf(stderr, "%s: error: cannot read the config file: %s\n",
		    path, strerror(errno));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s:%zu:%zu: error: %s\n", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "YAML error");
		fprintf(stderr, "%s: 1 error; not a valid config file\n",
		    path);
		yaml_parser_delete(&parser);
		fclose(fp);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || (root->type == YAML_SCALAR_NODE &&
	    root->data.scalar.length == 0 &&
	    root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
		goto done;  /* empty file, or an empty document ("---") */
	if (root->type != YAML_MAPPING_NODE) {
		ferr(&f, root, "the config file must be a mapping");
		goto done;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		const char *key = k->type == YAML_SCALAR_NODE ?
		    (const char *)k->data.scalar.value : "";
		limits_t *L = &cfg->limits;

		if (!strcmp(key, "listen"))
			each_string(&f, v, key, file_listen);
		else if (!strcmp(key, "profiles"))
			each_string(&f, v, key, file_dir);
		else if (!strcmp(key, "tor"))
			set_str(&f, v, key, &cfg->tor, cli_tor);
		else if (!strcmp(key, "tor-cookie"))
			set_str(&f, v, key, &cfg->tor_cookie, cli_cookie);
		else if (!strcmp(key, "tor-password-file"))
			set_str(&f, v, key, &cfg->tor_password_file, cli_pw);
		else if (!strcmp(key, "state-dir"))
			set_str(&f, v, key, &cfg->state_dir, f.cli_state);
		else if (!strcmp(key, "user"))
			set_str(&f, v, key, &cfg->user, f.cli_user);
		else if (!strcmp(key, "cookie-file")) {
			const char *c = scalar(&f, v, key);
			char where[PATH_MAX + 64];
			snprintf(where, sizeof(where), "%s:%zu:%zu", path,
			    v->start_mark.line + 1, v->start_mark.column + 1);
			if (c != NULL && !f.cli_cookie_file &&
			    set_cookie_file(cfg, c, where) < 0)
				f.errors++;
		}
		else if (!strcmp(key, "max-line-length"))
			set_limit(&f, v, key, 256, 16 << 20, &L->max_line);
		else if (!strcmp(key, "max-body-length"))
			set_limit(&f, v, key, 256, 64 << 20, &L->max_body);
		else if (!strcmp(key, "max-pending-commands"))
			set_limit(&f, v, key, 1, 1 << 16, &L->max_pending);
		else if (!strcmp(key, "max-output-buffer"))
			set_limit(&f, v, key, 4096, 1 << 30, &L->max_output);
		else if (!strcmp(key, "upstream-pool")) {
			size_t n = 0;
			set_limit(&f, v, key, 0, 64, &n);
			cfg->upstream_pool = (unsigned)n;
			cfg->upstream_pool_set = true;
		} else if (!strcmp(key, "tor-wait-commands"))
			set_limit(&f, v, key, 1, 1 << 16, &L->tor_wait_cmds);
		else if (!strcmp(key, "tor-wait-ms")) {
			size_t n = 0;
			if (set_limit(&f, v, key, 1, 3600000, &n) == 0)
				L->tor_wait_ms = (unsigned)n;
		} else if (!strcmp(key, "tor-retry-max-ms")) {
			size_t n = 0;
			if (set_limit(&f, v, key, 100, 600000, &n) == 0)
				L->tor_retry_max_ms = (unsigned)n;
		} else if (!strcmp(key, "max-clients-per-user")) {
			size_t n = 0;
			set_limit(&f, v, key, 1, 1 << 20, &n);
			if (n && !L->max_clients_per_user)
				L->max_clients_per_user = (unsigned)n;
		} else if (!strcmp(key, "auth-timeout")) {
			size_t n = 0;
			set_limit(&f, v, key, 1, 3600, &n);
			if (n && !L->auth_timeout)
				L->auth_timeout = (unsigned)n;
		} else if (!strcmp(key, "max-clients")) {
			size_t n = 0;
			set_limit(&f, v, key, 1, 1 << 20, &n);
			if (n)
				L->max_clients = (unsigned)n;
		} else
			ferr(&f, k, "unknown key '%s'", key);
	}
done:
	if (f.errors)
		fprintf(stderr, "%s: %d error%s; not a valid config file\n",
		    path, f.errors, f.errors == 1 ? "" : "s");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);
	return f.errors ? -1 : 0;
}

/* ---- command line --------------------------------------------------- */

enum { OPT_COOKIE = 256, OPT_PASSWORD, OPT_DEBUG, OPT_VERSION, OPT_HELP,
	OPT_CHECK, OPT_COMPLAIN, OPT_LEARN, OPT_WAIT_CMDS, OPT_WAIT_MS,
	OPT_RETRY_MAX_MS, OPT_STATE_DIR, OPT_PER_USER,
	OPT_AUTH_TIMEOUT, OPT_NO_SANDBOX, OPT_COOKIE_FILE };

/* A numeric option from min to max; -1 (reported) if it is not. */
static int
opt_number(const char *name, const char *arg, size_t min, size_t max,
    size_t *out)
{
	if (parse_size(arg, min, max, out) == 0)
		return 0;
	fprintf(stderr, "torgate: --%s must be a number from %zu to %zu\n",
	    name, min, max);
	return -1;
}

config_result_t
config_parse(config_t *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tor", required_argument, NULL, 't' },
		{ "tor-cookie", required_argument, NULL, OPT_COOKIE },
		{ "tor-password-file", required_argument, NULL, OPT_PASSWORD },
		{ "profiles", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "complain", no_argument, NULL, OPT_COMPLAIN },
		{ "learn", required_argument, NULL, OPT_LEARN },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "tor-wait-commands", required_argument, NULL, OPT_WAIT_CMDS },
		{ "tor-wait-ms", required_argument, NULL, OPT_WAIT_MS },
		{ "tor-retry-max-ms", required_argument, NULL,
		    OPT_RETRY_MAX_MS },
		{ "max-clients-per-user", required_argument, NULL,
		    OPT_PER_USER },
		{ "auth-timeout", required_argument, NULL, OPT_AUTH_TIMEOUT },
		{ "user", required_argument, NULL, 'u' },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "cookie-file", required_argument, NULL, OPT_COOKIE_FILE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	/* Options that the config file must not override: set after it. */
	size_t wait_cmds = 0, wait_ms = 0, retry_max_ms = 0;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	optind = 0;     /* glibc: a full reset, even after an error in "-xy" */
	while ((c = getopt_long(argc, argv, "l:t:p:c:fu:", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (add_listen(cfg, optarg, NULL) < 0)
				return CONFIG_EXIT_ERROR;
			break;
		case 't':
			free(cfg->tor);
			cfg->tor = xstrdup(optarg);
			break;
		case OPT_COOKIE:
			free(cfg->tor_cookie);
			cfg->tor_cookie = xstrdup(optarg);
			break;
		case OPT_PASSWORD:
			free(cfg->tor_password_file);
			cfg->tor_password_file = xstrdup(optarg);
			break;
		case 'p':
			add_dir(cfg, optarg);
			break;
		case 'c':
			free(cfg->config_file);
			cfg->config_file = xstrdup(optarg);
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case OPT_DEBUG:
			cfg->debug = true;
			break;
		case OPT_CHECK:
			cfg->check = true;
			break;
		case OPT_COMPLAIN:
			cfg->complain = true;
			break;
		case OPT_LEARN:
			free(cfg->learn_dir);
			cfg->learn_dir = xstrdup(optarg);
			break;
		case 'u':
			free(cfg->user);
			cfg->user = xstrdup(optarg);
			break;
		case OPT_NO_SANDBOX:
			cfg->no_sandbox = true;
			break;
		case OPT_COOKIE_FILE:
			if (set_cookie_file(cfg, optarg, NULL) < 0)
				return CONFIG_EXIT_ERROR;
			break;
		case OPT_STATE_DIR:
			free(cfg->state_dir);
			cfg->state_dir = xstrdup(optarg);
			break;
		case OPT_WAIT_CMDS:
			if (opt_number("tor-wait-commands", optarg, 1, 1 << 16,
			    &wait_cmds) < 0)
				return CONFIG_EXIT_ERROR;
			break;
		case OPT_WAIT_MS:
			if (opt_number("tor-wait-ms", optarg, 1, 3600000,
			    &wait_ms) < 0)
				return CONFIG_EXIT_ERROR;
			break;
		case OPT_RETRY_MAX_MS:
			if (opt_number("tor-retry-max-ms", optarg, 100, 600000,
			    &retry_max_ms) < 0)
				return CONFIG_EXIT_ERROR;
			break;
		case OPT_PER_USER:
		case OPT_AUTH_TIMEOUT: {
			bool per_user = c == OPT_PER_USER;
			size_t n;
			if (opt_number(per_user ? "max-clients-per-user" :
			    "auth-timeout", optarg, 1,
			    per_user ? 1 << 20 : 3600, &n) < 0)
				return CONFIG_EXIT_ERROR;
			if (per_user)
				cfg->limits.max_clients_per_user = (unsigned)n;
			else
				cfg->limits.auth_timeout = (unsigned)n;
			break;
		}
		case OPT_VERSION:
			printf("torgate %s\n", TORGATE_VERSION);
			return CONFIG_EXIT_OK;
		case OPT_HELP:
			usage(stdout);
			return CONFIG_EXIT_OK;
		default:
			usage(stderr);
			return CONFIG_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "torgate: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return CONFIG_EXIT_ERROR;
	}
	if (cfg->config_file != NULL &&
	    load_file(cfg, cfg->config_file, cfg->n_listens > 0,
	    cfg->n_profile_dirs > 0, cfg->tor != NULL,
	    cfg->tor_cookie != NULL, cfg->tor_password_file != NULL) < 0)
		return CONFIG_EXIT_ERROR;
	/* Clients are never given tor's cookie, not even by mistake. */
	if (cfg->cookie_file != NULL && cfg->tor_cookie != NULL &&
	    strcmp(cfg->cookie_file, cfg->tor_cookie) == 0) {
		fprintf(stderr, "torgate: cookie-file %s is tor's cookie "
		    "(tor-cookie): torgate's own cookie must be another file\n",
		    cfg->cookie_file);
		return CONFIG_EXIT_ERROR;
	}
	if (wait_cmds)
		cfg->limits.tor_wait_cmds = wait_cmds;
	if (wait_ms)
		cfg->limits.tor_wait_ms = (unsigned)wait_ms;
	if (retry_max_ms)
		cfg->limits.tor_retry_max_ms = (unsigned)retry_max_ms;
	config_defaults(cfg);
	return CONFIG_RUN;
}

void
config_defaults(config_t *cfg)
{
	limits_t *L = &cfg->limits;

	if (cfg->n_listens == 0) {
		cfg->listens_defaulted = true;
		for (size_t i = 0; i < ARRAY_LEN(default_listens); i++)
			if (add_listen(cfg, default_listens[i], NULL) < 0)
				abort();
	}
	if (cfg->n_profile_dirs == 0) {
		cfg->profile_dirs_defaulted = true;
		for (size_t i = 0; i < ARRAY_LEN(default_profile_dirs); i++)
			add_dir(cfg, default_profile_dirs[i]);
	}
	if (cfg->tor == NULL)
		cfg->tor = xstrdup(DEFAULT_TOR);
	/* 64 KiB: far above any real command (the longest, ADD_ONION with an
	 * RSA key and client auth, is a few KiB), small enough to bound the
	 * memory of thousands of clients. */
	if (L->max_line == 0)
		L->max_line = 64 * 1024;
	/* Before authentication nothing longer than AUTHENTICATE with a
	 * password or AUTHCHALLENGE with its nonce is needed. */
	if (L->max_preauth_line == 0)
		L->max_preauth_line = L->max_line < 4096 ? L->max_line : 4096;
	/* Descriptors posted with +HSPOST/+POSTDESCRIPTOR stay well under. */
	if (L->max_body == 0)
		L->max_body = 256 * 1024;
	/* tor's own limit on a control line is 1 MiB. */
	if (L->max_reply_line == 0)
		L->max_reply_line = 1024 * 1024;
	/* Enough for clients that pipeline (bitcoind; batches of 64). */
	if (L->max_pending == 0)
		L->max_pending = 256;
	if (L->max_output == 0)
		L->max_output = 1024 * 1024;
	if (L->max_clients == 0)
		L->max_clients = 16384;
	/* Tor going away: a restart takes a second or two. A client may
	 * have this many commands waiting for the new tor (a pipelining
	 * client's batch), each for this long, and a new client waits as
	 * long to be served; past either, 550. */
	if (L->tor_wait_cmds == 0)
		L->tor_wait_cmds = 64;
	if (L->tor_wait_ms == 0)
		L->tor_wait_ms = 10000;
	/* Tries to reach tor again: 100 ms, doubling up to this. */
	if (L->tor_retry_max_ms == 0)
		L->tor_retry_max_ms = 5000;
	/* One application opens a handful of control connections (Tor
	 * Browser, OnionShare, bitcoind: 1 to 3); 64 leaves room for many
	 * applications of one user, and lets 256 users share the 16384. */
	if (L->max_clients_per_user == 0)
		L->max_clients_per_user = 64;
	/* Real clients authenticate within milliseconds of connecting; 30 s
	 * leaves room for a loaded machine and a slow identification, and
	 * frees a connection that never will. tor itself has no limit. */
	if (L->auth_timeout == 0)
		L->auth_timeout = 30;
	/* A few spares serve bursts of new clients at once; each costs tor
	 * one idle control connection. */
	if (!cfg->upstream_pool_set)
		cfg->upstream_pool = 4;
}

void
config_clear(config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_listens; i++)
		listen_spec_clear(&cfg->listens[i]);
	free(cfg->listens);
	for (size_t i = 0; i < cfg->n_profile_dirs; i++)
		free(cfg->profile_dirs[i]);
	free(cfg->profile_dirs);
	free(cfg->tor);
	free(cfg->tor_cookie);
	free(cfg->tor_password_file);
	free(cfg->config_file);
	free(cfg->learn_dir);
	free(cfg->state_dir);
	free(cfg->user);
	free(cfg->cookie_file);
	free(cfg->cookie_group);
	memset(cfg, 0, sizeof(*cfg));
}
