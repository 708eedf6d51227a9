/*
 * test_config.c: the command line and the YAML config file
 * (src/config.c).
 *
 * Each row runs config_parse on an argument list (and, when it has one, a
 * config file written to a temporary directory and passed with -c). A
 * parsed config is flattened into "|key=value|key=value|" (see dump());
 * a row lists the items that must appear in it. Failing rows give a piece
 * of the message on stderr; one starting with ':' must follow the config
 * file's path (FILE:LINE:COL: message).
 */
#include "tg_check.h"
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torgate_build.h"

#include "config.h"
#include "util.h"

#define MAX_ARGS 12

static char tmpdir[256];
static char cfgpath[512];

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/tg-config-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/torgate.yml", tmpdir);
}

static void
remove_tmpdir(void)
{
	unlink(cfgpath);
	ck_assert_int_eq(rmdir(tmpdir), 0);
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Append "key=value|" to buf. */
static void
put(char *buf, size_t n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *buf, size_t n, const char *key, const char *fmt, ...)
{
	size_t u = strlen(buf);
	va_list ap;

	snprintf(buf + u, n - u, "%s=", key);
	u = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + u, n - u, fmt, ap);
	va_end(ap);
	u = strlen(buf);
	snprintf(buf + u, n - u, "|");
}

#define S(x) ((x) != NULL ? (x) : "-")

/* The whole config as "|key=value|...|": listeners as
 * ADDR,MODE,PROFILE joined by ';', profile directories joined by ';'. */
static void
dump(const config_t *c, char *buf, size_t n)
{
	char list[2048] = "";
	const limits_t *L = &c->limits;

	snprintf(buf, n, "|");
	for (size_t i = 0; i < c->n_listens; i++) {
		size_t u = strlen(list);
		snprintf(list + u, sizeof(list) - u, "%s%s,%04o,%s%s%s",
		    i ? ";" : "", c->listens[i].addr.text,
		    (unsigned)c->listens[i].mode, S(c->listens[i].profile),
		    c->listens[i].group ? ",group=" : "",
		    c->listens[i].group ? c->listens[i].group : "");
	}
	put(buf, n, "listen", "%s", list);
	list[0] = '\0';
	for (size_t i = 0; i < c->n_profile_dirs; i++) {
		size_t u = strlen(list);
		snprintf(list + u, sizeof(list) - u, "%s%s", i ? ";" : "",
		    c->profile_dirs[i]);
	}
	put(buf, n, "profiles", "%s", list);
	put(buf, n, "tor", "%s", S(c->tor));
	put(buf, n, "cookie", "%s", S(c->tor_cookie));
	put(buf, n, "pw", "%s", S(c->tor_password_file));
	put(buf, n, "fg", "%d", c->foreground);
	put(buf, n, "debug", "%d", c->debug);
	put(buf, n, "check", "%d", c->check);
	put(buf, n, "complain", "%d", c->complain);
	put(buf, n, "learn", "%s", S(c->learn_dir));
	put(buf, n, "state", "%s", S(c->state_dir));
	put(buf, n, "user", "%s", S(c->user));
	put(buf, n, "nosandbox", "%d", c->no_sandbox);
	put(buf, n, "ownck", "%s", S(c->cookie_file));
	put(buf, n, "ownckmode", "%04o", c->cookie_mode);
	put(buf, n, "ownckgroup", "%s", S(c->cookie_group));
	put(buf, n, "line", "%zu", L->max_line);
	put(buf, n, "preauth", "%zu", L->max_preauth_line);
	put(buf, n, "body", "%zu", L->max_body);
	put(buf, n, "reply", "%zu", L->max_reply_line);
	put(buf, n, "pending", "%zu", L->max_pending);
	put(buf, n, "output", "%zu", L->max_output);
	put(buf, n, "clients", "%u", L->max_clients);
	put(buf, n, "pool", "%u", c->upstream_pool);
	put(buf, n, "waitcmds", "%zu", L->tor_wait_cmds);
	put(buf, n, "waitms", "%u", L->tor_wait_ms);
	put(buf, n, "retrymax", "%u", L->tor_retry_max_ms);
	put(buf, n, "peruser", "%u", L->max_clients_per_user);
	put(buf, n, "authtimeout", "%u", L->auth_timeout);
}

/* Run config_parse with stdout and stderr caught in out and err. */
static config_result_t
parse_caught(config_t *cfg, int argc, char **argv, char *out, size_t outn,
    char *err, size_t errn)
{
	char opath[600], epath[600];
	int saved_out, saved_err, ofd, efd;
	config_result_t r;
	ssize_t k;

	snprintf(opath, sizeof(opath), "%s/stdout", tmpdir);
	snprintf(epath, sizeof(epath), "%s/stderr", tmpdir);
	ofd = open(opath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	efd = open(epath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	ck_assert(dup2(ofd, 1) == 1 && dup2(efd, 2) == 2);
	r = config_parse(cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	ck_assert(dup2(saved_out, 1) == 1 && dup2(saved_err, 2) == 2);
	close(saved_out);
	close(saved_err);
	k = pread(ofd, out, outn - 1, 0);
	out[k > 0 ? k : 0] = '\0';
	k = pread(efd, err, errn - 1, 0);
	err[k > 0 ? k : 0] = '\0';
	close(ofd);
	close(efd);
	unlink(opath);
	unlink(epath);
	return r;
}

typedef struct row {
	const char *args[MAX_ARGS];  /* after argv[0]; "@CFG" is the file */
	const char *file;            /* config file text, or NULL */
	config_result_t want;
	const char *items[10];       /* CONFIG_RUN: "key=value" in dump() */
	const char *msg;             /* otherwise: in stderr (or stdout) */
} row_t;

static void
run_row(const row_t *r)
{
	char *argv[MAX_ARGS + 4];
	int argc = 0;
	char out[8192], err[8192], got[8192], want[1200];
	config_t cfg;
	config_result_t rc;

	make_tmpdir();
	argv[argc++] = (char *)"torgate";
	if (r->file != NULL) {
		write_text(cfgpath, r->file);
		argv[argc++] = (char *)"-c";
		argv[argc++] = cfgpath;
	}
	for (int i = 0; i < MAX_ARGS && r->args[i] != NULL; i++)
		argv[argc++] = strcmp(r->args[i], "@CFG") == 0 ? cfgpath :
		    (char *)r->args[i];
	argv[argc] = NULL;

	rc = parse_caught(&cfg, argc, argv, out, sizeof(out), err,
	    sizeof(err));
	ck_assert_msg(rc == r->want, "result %d, want %d; stderr: %s",
	    (int)rc, (int)r->want, err);
	if (rc == CONFIG_RUN) {
		dump(&cfg, got, sizeof(got));
		ck_assert_msg(err[0] == '\0', "stderr: %s", err);
		for (int i = 0; i < 10 && r->items[i] != NULL; i++) {
			snprintf(want, sizeof(want), "|%s|", r->items[i]);
			ck_assert_msg(strstr(got, want) != NULL,
			    "%s not in %s", r->items[i], got);
		}
	} else if (r->msg != NULL) {
		if (r->msg[0] == ':')
			snprintf(want, sizeof(want), "%s%s", cfgpath, r->msg);
		else
			snprintf(want, sizeof(want), "%s", r->msg);
		ck_assert_msg(strstr(rc == CONFIG_EXIT_OK ? out : err, want)
		    != NULL, "'%s' not in: %s%s", want, out, err);
	}
	config_clear(&cfg);
	ck_assert_ptr_null(cfg.listens);
	ck_assert_ptr_null(cfg.tor);
	remove_tmpdir();
}

#define DEFAULT_LISTEN \
	"listen=unix:/run/torgate/control,0666,-;127.0.0.1:951,0660,-"
#define DEFAULT_DIRS "profiles=/etc/torgate/profiles.d;" \
	"/usr/share/torgate/profiles;/etc/onion-grater.d"

/* ---- command line --------------------------------------------------- */

static const row_t cli_rows[] = {
	/* Defaults. */
	{ { NULL }, NULL, CONFIG_RUN, { DEFAULT_LISTEN, DEFAULT_DIRS,
	    "tor=unix:/run/tor/control", "cookie=-", "pw=-", "fg=0",
	    "debug=0", "check=0", "complain=0", "learn=-" }, NULL },
	{ { NULL }, NULL, CONFIG_RUN, { "state=-" }, NULL },
	/* --cookie-file: none by default; mode 0640 unless given, at most
	 * 0644; a group; a path PROTOCOLINFO can name as it is. */
	{ { NULL }, NULL, CONFIG_RUN, { "ownck=-", "ownckgroup=-" }, NULL },
	{ { "--cookie-file", "/run/torgate/control.authcookie", NULL }, NULL,
	    CONFIG_RUN, { "ownck=/run/torgate/control.authcookie",
	    "ownckmode=0640", "ownckgroup=-" }, NULL },
	{ { "--cookie-file", "/c,mode=0600,group=debian-tor", NULL }, NULL,
	    CONFIG_RUN, { "ownck=/c", "ownckmode=0600",
	    "ownckgroup=debian-tor" }, NULL },
	{ { "--cookie-file", "/c,group=a,mode=644", "--cookie-file=/d", NULL },
	    NULL, CONFIG_RUN, { "ownck=/d", "ownckmode=0640", "ownckgroup=-" },
	    NULL },
	{ { "--cookie-file", "/a b/c", NULL }, NULL, CONFIG_RUN,
	    { "ownck=/a b/c" }, NULL },
	{ { "--cookie-file", "c", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "--cookie-file c: must be an absolute path to a file" },
	{ { "--cookie-file", "/d/", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "must be an absolute path to a file" },
	{ { "--cookie-file", ",mode=0600", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "must be an absolute path to a file" },
	{ { "--cookie-file", "/c\"", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "printable ASCII" },
	{ { "--cookie-file", "/c\\", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "printable ASCII" },
	{ { "--cookie-file", "/c\n", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "printable ASCII" },
	{ { "--cookie-file", "/\xc3\xa9", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "printable ASCII" },
	{ { "--cookie-file", "/c,mode=0660", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "at most 0644" },
	{ { "--cookie-file", "/c,mode=0700", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "at most 0644" },
	{ { "--cookie-file", "/c,mode=04640", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "at most 0644" },
	{ { "--cookie-file", "/c,mode=0648", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "must be octal" },
	{ { "--cookie-file", "/c,mode=", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "takes only mode=OCTAL and group=NAME" },
	{ { "--cookie-file", "/c,mode=-1", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "must be octal" },
	{ { "--cookie-file", "/c,group=", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "takes only mode=OCTAL and group=NAME" },
	{ { "--cookie-file", "/c,owner=x", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "takes only mode=OCTAL and group=NAME" },
	/* Never tor's own cookie. */
	{ { "--cookie-file", "/run/tor/control.authcookie", "--tor-cookie",
	    "/run/tor/control.authcookie", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "is tor's cookie" },
	/* --state-dir: the last one wins. */
	{ { "--state-dir", "/s1", "--state-dir=/s2", NULL }, NULL, CONFIG_RUN,
	    { "state=/s2" }, NULL },
	{ { "--state-dir", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "usage:" },
	{ { NULL }, NULL, CONFIG_RUN, { "line=65536", "preauth=4096",
	    "body=262144", "reply=1048576", "pending=256", "output=1048576",
	    "clients=16384", "pool=4", "peruser=64", "authtimeout=30" },
	    NULL },
	/* The per-user limits as flags, at their bounds. */
	{ { "--max-clients-per-user", "1", "--auth-timeout", "3600", NULL },
	    NULL, CONFIG_RUN, { "peruser=1", "authtimeout=3600" }, NULL },
	{ { "--max-clients-per-user=1048576", "--auth-timeout=1", NULL },
	    NULL, CONFIG_RUN, { "peruser=1048576", "authtimeout=1" }, NULL },
	{ { "--max-clients-per-user", "0", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--max-clients-per-user must be a number from 1 to" },
	{ { "--max-clients-per-user", "1048577", NULL }, NULL,
	    CONFIG_EXIT_ERROR, { NULL }, "--max-clients-per-user must be" },
	{ { "--auth-timeout", "3601", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--auth-timeout must be a number from 1 to 3600" },
	{ { "--auth-timeout", "0", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--auth-timeout must be" },
	{ { "--auth-timeout", "5s", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--auth-timeout must be" },
	{ { NULL }, NULL, CONFIG_RUN, { "waitcmds=64", "waitms=10000",
	    "retrymax=5000" }, NULL },
	/* Every option, short and long. */
	{ { "-l", "unix:/tmp/a,mode=0600", "--listen", "[::1]:99,profile=p",
	    "-t", "127.0.0.1:9051", "-p", "/d1", "--profiles", "/d2", NULL },
	    NULL, CONFIG_RUN, { "listen=unix:/tmp/a,0600,-;[::1]:99,0660,p",
	    "profiles=/d1;/d2", "tor=127.0.0.1:9051" }, NULL },
	{ { "--tor", "unix:/x", "--tor-cookie", "/c", "--tor-password-file",
	    "/pw", "-f", "--debug", "--check", "--complain", "--learn",
	    "/l" }, NULL, CONFIG_RUN, { "tor=unix:/x", "cookie=/c", "pw=/pw",
	    "fg=1", "debug=1", "check=1", "complain=1", "learn=/l",
	    DEFAULT_LISTEN }, NULL },
	{ { "--foreground", "--tor=unix:/y", "--listen=127.0.0.1:1", NULL },
	    NULL, CONFIG_RUN, { "fg=1", "tor=unix:/y",
	    "listen=127.0.0.1:1,0660,-" }, NULL },
	{ { "-fl127.0.0.1:2", NULL }, NULL, CONFIG_RUN, { "fg=1",
	    "listen=127.0.0.1:2,0660,-" }, NULL },
	{ { "--tor-wait-commands", "3", "--tor-wait-ms=250",
	    "--tor-retry-max-ms", "100", NULL }, NULL, CONFIG_RUN,
	    { "waitcmds=3", "waitms=250", "retrymax=100" }, NULL },
	{ { "--tor-wait-commands", "65536", "--tor-wait-ms", "3600000",
	    "--tor-retry-max-ms", "600000", NULL }, NULL, CONFIG_RUN,
	    { "waitcmds=65536", "waitms=3600000", "retrymax=600000" }, NULL },
	/* The last of a repeated single value wins. */
	{ { "-t", "unix:/a", "-t", "unix:/b", "--learn", "/1", "--learn",
	    "/2", NULL }, NULL, CONFIG_RUN, { "tor=unix:/b", "learn=/2" },
	    NULL },
	/* --tor is not checked here (the upstream connector does). */
	{ { "-t", "anything", NULL }, NULL, CONFIG_RUN, { "tor=anything" },
	    NULL },
	/* Help and version go to stdout. */
	{ { "--help", NULL }, NULL, CONFIG_EXIT_OK, { NULL },
	    "usage: torgate [OPTIONS]" },
	{ { "--version", NULL }, NULL, CONFIG_EXIT_OK, { NULL },
	    "torgate " TORGATE_VERSION "\n" },
	{ { "-f", "--version", "--bogus", NULL }, NULL, CONFIG_EXIT_OK,
	    { NULL }, "torgate " TORGATE_VERSION },
	/* Usage errors. */
	{ { "--bogus", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "-x", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "-zf", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "-l", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "--tor", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "--help=x", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "usage:" },
	{ { "stray", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "unexpected argument 'stray'" },
	{ { "-f", "--", "-f", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "unexpected argument '-f'" },
	{ { "-l", "nonsense", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "torgate: --listen: nonsense: expected unix:/PATH" },
	{ { "-l", "unix:/x,mode=9", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "bad mode" },
	{ { "-l", "127.0.0.1:1", "-l", "127.0.0.1:0", NULL }, NULL,
	    CONFIG_EXIT_ERROR, { NULL }, "bad port" },
	{ { "-c", "/nonexistent/torgate.yml", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "/nonexistent/torgate.yml: error: cannot read the config "
	    "file: No such file" },
	/* group=: unix sockets only, by name or number, never empty. */
	{ { "-l", "unix:/x,mode=0640,group=tor", NULL }, NULL, CONFIG_RUN,
	    { "listen=unix:/x,0640,-,group=tor" }, NULL },
	{ { "-l", "unix:/x,group=123,profile=p", NULL }, NULL, CONFIG_RUN,
	    { "listen=unix:/x,0660,p,group=123" }, NULL },
	{ { "-l", "unix:/x,group=a,group=b", NULL }, NULL, CONFIG_RUN,
	    { "listen=unix:/x,0660,-,group=b" }, NULL },
	{ { "-l", "127.0.0.1:9,group=tor", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "group= only applies to unix sockets" },
	{ { "-l", "unix:/x,group=", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "unix:/x,group=: empty group" },
	/* Numbers out of range or not numbers. */
	{ { "--tor-wait-commands", "0", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--tor-wait-commands must be a number from 1 to 65536" },
	{ { "--tor-wait-commands", "65537", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--tor-wait-commands must be a number" },
	{ { "--tor-wait-ms", "0", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "--tor-wait-ms must be a number from 1 to 3600000" },
	{ { "--tor-wait-ms", "3600001", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--tor-wait-ms must be a number" },
	{ { "--tor-wait-ms", "5s", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "--tor-wait-ms must be a number" },
	{ { "--tor-wait-ms", " 5", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "--tor-wait-ms must be a number" },
	{ { "--tor-retry-max-ms", "99", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--tor-retry-max-ms must be a number from 100 to 600000" },
	{ { "--tor-retry-max-ms", "600001", NULL }, NULL, CONFIG_EXIT_ERROR,
	    { NULL }, "--tor-retry-max-ms must be a number" },
	{ { "--tor-retry-max-ms", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL },
	    "usage:" },
};

START_TEST(test_cli_rows)
{
	run_row(&cli_rows[_i]);
}
END_TEST

/* ---- config file ---------------------------------------------------- */

static const row_t file_rows[] = {
	/* Empty files and comments only: the defaults. */
	{ { NULL }, "", CONFIG_RUN, { DEFAULT_LISTEN, DEFAULT_DIRS,
	    "pool=4" }, NULL },
	{ { NULL }, "# nothing\n", CONFIG_RUN, { DEFAULT_LISTEN }, NULL },
	{ { NULL }, "---\n...\n", CONFIG_RUN, { DEFAULT_LISTEN }, NULL },
	{ { NULL }, "---\n", CONFIG_RUN, { DEFAULT_LISTEN }, NULL },
	{ { NULL }, "''\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:1: error: the config file must be a mapping" },
	/* Every key. */
	{ { NULL },
	    "listen: [unix:/run/a, '127.0.0.1:7,profile=x']\n"
	    "tor: 127.0.0.1:9051\n"
	    "tor-cookie: /var/lib/tor/control_auth_cookie\n"
	    "tor-password-file: /etc/torgate/pw\n"
	    "profiles:\n  - /p1\n  - /p2\n",
	    CONFIG_RUN, { "listen=unix:/run/a,0660,-;127.0.0.1:7,0660,x",
	    "tor=127.0.0.1:9051", "cookie=/var/lib/tor/control_auth_cookie",
	    "pw=/etc/torgate/pw", "profiles=/p1;/p2" }, NULL },
	{ { NULL },
	    "max-line-length: 1000\nmax-body-length: 2000\n"
	    "max-pending-commands: 3\nmax-output-buffer: 5000\n"
	    "max-clients: 6\nupstream-pool: 0\n",
	    CONFIG_RUN, { "line=1000", "preauth=1000", "body=2000",
	    "pending=3", "output=5000", "clients=6", "pool=0",
	    "reply=1048576" }, NULL },
	{ { NULL }, "max-line-length: 8192\n", CONFIG_RUN, { "line=8192",
	    "preauth=4096" }, NULL },
	{ { NULL }, "max-clients: '12'\n", CONFIG_RUN, { "clients=12" },
	    NULL },
	{ { NULL }, "listen: []\nprofiles: []\n", CONFIG_RUN,
	    { DEFAULT_LISTEN, DEFAULT_DIRS }, NULL },
	/* Aliases are followed. */
	{ { NULL }, "tor: &t unix:/run/t\ntor-cookie: *t\n", CONFIG_RUN,
	    { "tor=unix:/run/t", "cookie=unix:/run/t" }, NULL },
	/* Flags win; a list on the command line replaces the file's. */
	{ { "-t", "unix:/cli", "-l", "127.0.0.1:2", "-p", "/cli",
	    "--tor-cookie", "/cc", "--tor-password-file", "/cp", NULL },
	    "tor: unix:/file\nlisten: [127.0.0.1:1, unix:/f]\n"
	    "profiles: [/file]\ntor-cookie: /fc\ntor-password-file: /fp\n",
	    CONFIG_RUN, { "tor=unix:/cli", "listen=127.0.0.1:2,0660,-",
	    "profiles=/cli", "cookie=/cc", "pw=/cp" }, NULL },
	/* The same for the tor-wait settings. */
	{ { "--tor-wait-ms", "7", "--tor-retry-max-ms", "300", NULL },
	    "tor-wait-ms: 9\ntor-wait-commands: 5\ntor-retry-max-ms: 400\n",
	    CONFIG_RUN, { "waitms=7", "waitcmds=5", "retrymax=300" }, NULL },
	{ { "--max-clients-per-user", "5", "--auth-timeout", "7", NULL },
	    "max-clients-per-user: 50\nauth-timeout: 70\n", CONFIG_RUN,
	    { "peruser=5", "authtimeout=7" }, NULL },
	/* ... but the file's other keys still apply. */
	{ { "-t", "unix:/cli", NULL }, "tor-cookie: /fc\nmax-clients: 9\n",
	    CONFIG_RUN, { "tor=unix:/cli", "cookie=/fc", "clients=9" }, NULL },
	/* state-dir: from the file, unless given as a flag. */
	{ { NULL }, "state-dir: /var/lib/x\n", CONFIG_RUN,
	    { "state=/var/lib/x" }, NULL },
	{ { "--state-dir", "/cli", NULL }, "state-dir: /file\n", CONFIG_RUN,
	    { "state=/cli" }, NULL },
	{ { NULL }, "state-dir: [a]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:12: error: 'state-dir' must be a string" },
	/* user: from the file, unless given as a flag (-u, --user). */
	{ { NULL }, "user: _torgate\n", CONFIG_RUN,
	    { "user=_torgate", "nosandbox=0" }, NULL },
	{ { "-u", "cli", NULL }, "user: file\n", CONFIG_RUN, { "user=cli" },
	    NULL },
	{ { "--user", "cli", "--no-sandbox", NULL }, "user: file\n",
	    CONFIG_RUN, { "user=cli", "nosandbox=1" }, NULL },
	{ { NULL }, "user: [a]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:7: error: 'user' must be a string" },
	/* cookie-file: from the file, unless given as a flag. */
	{ { NULL }, "cookie-file: /run/torgate/c,mode=0644,group=g\n",
	    CONFIG_RUN, { "ownck=/run/torgate/c", "ownckmode=0644",
	    "ownckgroup=g" }, NULL },
	{ { "--cookie-file", "/cli", NULL }, "cookie-file: /file\n",
	    CONFIG_RUN, { "ownck=/cli", "ownckmode=0640" }, NULL },
	{ { NULL }, "cookie-file: rel\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:14: error: cookie-file rel: must be an absolute path" },
	{ { NULL }, "cookie-file: [a]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:14: error: 'cookie-file' must be a string" },
	{ { NULL }, "cookie-file: /t\ntor-cookie: /t\n", CONFIG_EXIT_ERROR,
	    { NULL }, "is tor's cookie" },
	/* The file's listeners are not parsed when flags replace them. */
	{ { "-l", "127.0.0.1:2", NULL }, "listen: [nonsense]\n", CONFIG_RUN,
	    { "listen=127.0.0.1:2,0660,-" }, NULL },
	/* -c twice: the last file is read. */
	{ { "-c", "/nonexistent", "-c", "@CFG", NULL }, "tor: unix:/z\n",
	    CONFIG_RUN, { "tor=unix:/z" }, NULL },

	/* Errors, with FILE:LINE:COL. */
	{ { NULL }, "bogus: 1\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:1: error: unknown key 'bogus'" },
	{ { NULL }, "tor: unix:/x\n\n  # c\nMax-Clients: 1\n",
	    CONFIG_EXIT_ERROR, { NULL }, ":4:1: error: unknown key 'Max-Clients'" },
	{ { NULL }, "[a, b]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:1: error: the config file must be a mapping" },
	{ { NULL }, "just text\n", CONFIG_EXIT_ERROR, { NULL },
	    "must be a mapping" },
	{ { NULL }, "? [a]\n: b\n", CONFIG_EXIT_ERROR, { NULL },
	    "unknown key ''" },
	{ { NULL }, "tor: [unix:/x]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:6: error: 'tor' must be a string" },
	{ { NULL }, "tor-cookie: {a: b}\n", CONFIG_EXIT_ERROR, { NULL },
	    "'tor-cookie' must be a string" },
	{ { NULL }, "listen: unix:/x\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:9: error: 'listen' must be a list" },
	{ { NULL }, "profiles: /p\n", CONFIG_EXIT_ERROR, { NULL },
	    "'profiles' must be a list" },
	{ { NULL }, "profiles: [[/p]]\n", CONFIG_EXIT_ERROR, { NULL },
	    ":1:12: error: 'profiles' must be a string" },
	{ { NULL }, "listen:\n  - unix:/ok\n  - nonsense\n",
	    CONFIG_EXIT_ERROR, { NULL }, ":3:5: error: nonsense: expected" },
	{ { NULL }, "listen: ['unix:/x,mode=0999']\n", CONFIG_EXIT_ERROR,
	    { NULL }, "bad mode" },
	{ { NULL }, "tor: 'unterminated\n", CONFIG_EXIT_ERROR, { NULL },
	    ":2:1: error: found unexpected end of stream" },
	{ { NULL }, "a: b\nc\n", CONFIG_EXIT_ERROR, { NULL },
	    ":3:1: error: could not find expected ':'" },
	{ { NULL }, "tor: *nope\n", CONFIG_EXIT_ERROR, { NULL },
	    "found undefined alias" },
	{ { NULL }, "\tfoo: 1\n", CONFIG_EXIT_ERROR, { NULL }, ":1:" },
	/* group= in the file's listen entries too; its errors at the entry. */
	{ { NULL }, "listen: ['unix:/s,group=tor,mode=0660,profile=p']\n",
	    CONFIG_RUN, { "listen=unix:/s,0660,p,group=tor" }, NULL },
	{ { NULL }, "listen:\n  - 127.0.0.1:9,group=tor\n", CONFIG_EXIT_ERROR,
	    { NULL }, ":2:5: error: 127.0.0.1:9,group=tor: group= only applies" },
	/* A summary after the errors, as --check gives for profiles. */
	{ { NULL }, "a: 1\nb: 2\n", CONFIG_EXIT_ERROR, { NULL },
	    ": 2 errors; not a valid config file" },
	{ { NULL }, "a: 1\n", CONFIG_EXIT_ERROR, { NULL },
	    ": 1 error; not a valid config file" },
	{ { NULL }, "a: [\n", CONFIG_EXIT_ERROR, { NULL },
	    ": 1 error; not a valid config file" },
	/* Every error is reported, not only the first. */
	{ { NULL }, "a: 1\nmax-clients: x\nb: 2\n", CONFIG_EXIT_ERROR,
	    { NULL }, ":3:1: error: unknown key 'b'" },
	{ { NULL }, "a: 1\nmax-clients: x\nb: 2\n", CONFIG_EXIT_ERROR,
	    { NULL }, ":2:14: error: 'max-clients' must be a number from 1 to" },
	{ { NULL }, "a: 1\nmax-clients: x\nb: 2\n", CONFIG_EXIT_ERROR,
	    { NULL }, ":1:1: error: unknown key 'a'" },
	/* A file's errors are reported even when flags would win. */
	{ { "-t", "unix:/cli", NULL }, "tor: [x]\n", CONFIG_EXIT_ERROR,
	    { NULL }, "'tor' must be a string" },
	/* A directory is not a config file. */
	{ { "-c", "/", NULL }, NULL, CONFIG_EXIT_ERROR, { NULL }, "/:" },
};

START_TEST(test_file_rows)
{
	run_row(&file_rows[_i]);
}
END_TEST

/* ---- limits --------------------------------------------------------- */

/* Each limit at its bounds: the smallest and largest values accepted and
 * the next ones out, in the file's words. */
static const struct {
	const char *key;
	const char *item;      /* dump() key */
	unsigned long long min, max;
} limit_cases[] = {
	{ "max-line-length", "line", 256, 16 << 20 },
	{ "max-body-length", "body", 256, 64 << 20 },
	{ "max-pending-commands", "pending", 1, 1 << 16 },
	{ "max-output-buffer", "output", 4096, 1 << 30 },
	{ "max-clients", "clients", 1, 1 << 20 },
	{ "max-clients-per-user", "peruser", 1, 1 << 20 },
	{ "auth-timeout", "authtimeout", 1, 3600 },
	{ "upstream-pool", "pool", 0, 64 },
	{ "tor-wait-commands", "waitcmds", 1, 1 << 16 },
	{ "tor-wait-ms", "waitms", 1, 3600000 },
	{ "tor-retry-max-ms", "retrymax", 100, 600000 },
};

static void
limit_one(int i, const char *value, bool ok, unsigned long long want)
{
	char text[256], item[64];
	row_t r;

	memset(&r, 0, sizeof(r));
	snprintf(text, sizeof(text), "%s: %s\n", limit_cases[i].key, value);
	snprintf(item, sizeof(item), "%s=%llu", limit_cases[i].item, want);
	r.file = text;
	r.want = ok ? CONFIG_RUN : CONFIG_EXIT_ERROR;
	r.items[0] = item;
	r.msg = ":1:";
	run_row(&r);
}

START_TEST(test_limits)
{
	unsigned long long min = limit_cases[_i].min, max = limit_cases[_i].max;
	char v[64];

	snprintf(v, sizeof(v), "%llu", min);
	limit_one(_i, v, true, min);
	snprintf(v, sizeof(v), "%llu", max);
	limit_one(_i, v, true, max);
	snprintf(v, sizeof(v), "%llu", max + 1);
	limit_one(_i, v, false, 0);
	if (min > 0) {
		snprintf(v, sizeof(v), "%llu", min - 1);
		limit_one(_i, v, false, 0);
	}
	/* Leading zeros are still decimal. */
	snprintf(v, sizeof(v), "'000%llu'", max);
	limit_one(_i, v, true, max);
}
END_TEST

/* Not a plain decimal number, for every limit. */
static const char *const bad_numbers[] = {
	"-1", "'-0'", "'+5'", "' 5'", "'5 '", "0x10", "1e3", "1_000", "5k",
	"''", "~", "null", "true", "1.0", "99999999999999999999999",
	"18446744073709551617", "[5]", "{a: 5}",
};

START_TEST(test_bad_numbers)
{
	for (size_t i = 0; i < ARRAY_LEN(limit_cases); i++)
		limit_one((int)i, bad_numbers[_i], false, 0);
}
END_TEST

/* config_defaults() fills only what is unset. */
START_TEST(test_defaults_keep_set_values)
{
	config_t cfg;
	char got[4096];

	memset(&cfg, 0, sizeof(cfg));
	cfg.limits.max_line = 300;
	cfg.limits.max_clients = 7;
	cfg.upstream_pool = 0;
	cfg.upstream_pool_set = true;
	cfg.tor = xstrdup("unix:/mine");
	config_defaults(&cfg);
	dump(&cfg, got, sizeof(got));
	ck_assert_ptr_nonnull(strstr(got, "|line=300|preauth=300|"));
	ck_assert_ptr_nonnull(strstr(got, "|clients=7|pool=0|"));
	ck_assert_ptr_nonnull(strstr(got, "|tor=unix:/mine|"));
	ck_assert_ptr_nonnull(strstr(got, "|" DEFAULT_LISTEN "|"));
	/* Twice changes nothing. */
	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.n_listens, 2);
	ck_assert_uint_eq(cfg.n_profile_dirs, 3);
	config_clear(&cfg);
}
END_TEST

/* Parsing twice in one process starts afresh, even after an error in
 * the middle of a cluster of short options. */
START_TEST(test_parse_twice)
{
	char *bad[] = { (char *)"torgate", (char *)"-zf", NULL };
	char *good[] = { (char *)"torgate", (char *)"-t", (char *)"unix:/t",
		NULL };
	char out[1024], err[4096], got[4096];
	config_t cfg;

	make_tmpdir();
	ck_assert_int_eq(parse_caught(&cfg, 2, bad, out, sizeof(out), err,
	    sizeof(err)), CONFIG_EXIT_ERROR);
	config_clear(&cfg);
	ck_assert_int_eq(parse_caught(&cfg, 3, good, out, sizeof(out), err,
	    sizeof(err)), CONFIG_RUN);
	dump(&cfg, got, sizeof(got));
	ck_assert_msg(strstr(got, "|fg=0|") != NULL, "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "|tor=unix:/t|"));
	config_clear(&cfg);
	remove_tmpdir();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_loop_test(tc, test_cli_rows, 0, (int)ARRAY_LEN(cli_rows));
	tcase_add_loop_test(tc, test_file_rows, 0, (int)ARRAY_LEN(file_rows));
	tcase_add_loop_test(tc, test_limits, 0, (int)ARRAY_LEN(limit_cases));
	tcase_add_loop_test(tc, test_bad_numbers, 0,
	    (int)ARRAY_LEN(bad_numbers));
	tcase_add_test(tc, test_defaults_keep_set_values);
	tcase_add_test(tc, test_parse_twice);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
