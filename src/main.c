/*
 * main.c: torgate's entry point: read the settings, load the profiles,
 * open the listeners (or adopt those systemd passed), fork the monitor,
 * give up privileges, then run one libevent loop until SIGTERM/SIGINT.
 * SIGHUP reloads the profiles atomically: new sessions get the new set,
 * running ones keep theirs; a set with errors is not installed. Under
 * systemd (Type=notify) it says when it is ready, reloading, stopping.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "torgate_build.h"

#include "aarole.h"
#include "config.h"
#include "learn.h"
#include "listener.h"
#include "log.h"
#include "privdrop.h"
#include "profile.h"
#include "sandbox.h"
#include "sdnotify.h"
#include "session.h"
#include "torauth.h"
#include "torview.h"
#include "util.h"

static void
diag_to_log(void *arg, bool is_error, const char *file, unsigned line,
    unsigned col, const char *msg)
{
	if (file != NULL && line > 0)
		log_warnx("%s:%u:%u: %s: %s", file, line, col,
		    is_error ? "error" : "warning", msg);
	else if (file != NULL)
		log_warnx("%s: %s: %s", file, is_error ? "error" : "warning",
		    msg);
	else
		log_warnx("%s: %s", is_error ? "error" : "warning", msg);
}

/* --check: every problem on stdout, FILE:LINE:COL: severity: message. */
static void
diag_to_stdout(void *arg, bool is_error, const char *file, unsigned line,
    unsigned col, const char *msg)
{
	const char *sev = is_error ? "error" : "warning";

	if (file != NULL && line > 0)
		printf("%s:%u:%u: %s: %s\n", file, line, col, sev, msg);
	else if (file != NULL)
		printf("%s: %s: %s\n", file, sev, msg);
	else
		printf("%s: %s\n", sev, msg);
}

/*
 * A profile directory given with -p or in the config file must exist: a
 * typo must not load zero profiles. The built-in ones need not (a system
 * has some of them). Problems are reported through d as errors.
 */
static void
check_profile_dirs(const config_t *cfg, profile_diag_t *d)
{
	struct stat st;

	if (cfg->profile_dirs_defaulted)
		return;
	for (size_t i = 0; i < cfg->n_profile_dirs; i++) {
		const char *dir = cfg->profile_dirs[i];
		if (stat(dir, &st) < 0)
			profile_diag(d, true, dir, 0, 0, "profile directory: %s",
			    strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			profile_diag(d, true, dir, 0, 0, "profile directory: "
			    "not a directory");
	}
}

/* Load the set; NULL if the directories or any profile had an error. */
static profile_set_t *
load_set(const config_t *cfg, profile_diag_t *d)
{
	profile_set_t *set;

	check_profile_dirs(cfg, d);
	set = profile_set_load((const char *const *)cfg->profile_dirs,
	    cfg->n_profile_dirs, d);
	if (set != NULL && d->errors > 0) {
		profile_set_unref(set);
		set = NULL;
	}
	return set;
}

static int
check_only(const config_t *cfg)
{
	profile_diag_t d = { .report = diag_to_stdout };
	profile_set_t *set;
	gid_t gid;

	for (size_t i = 0; i < cfg->n_listens; i++)
		if (cfg->listens[i].group != NULL &&
		    listener_group_id(cfg->listens[i].group, &gid) < 0)
			profile_diag(&d, true, NULL, 0, 0, "listen %s: no group "
			    "'%s'", cfg->listens[i].addr.text,
			    cfg->listens[i].group);
	check_profile_dirs(cfg, &d);
	set = profile_set_load((const char *const *)cfg->profile_dirs,
	    cfg->n_profile_dirs, &d);
	profile_set_check_collisions(set, profile_reach_of_listeners(
	    cfg->listens, cfg->n_listens), &d);
	printf("%zu profile%s, %u error%s, %u warning%s\n",
	    set ? set->n : 0, set && set->n == 1 ? "" : "s", d.errors,
	    d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
	if (set != NULL)
		profile_set_unref(set);
	return d.errors > 0 || set == NULL ? 1 : 0;
}

static profile_set_t *
load_profiles(const config_t *cfg)
{
	profile_diag_t d = { .report = diag_to_log };
	profile_set_t *set;

	set = load_set(cfg, &d);
	if (set != NULL)
		log_info("loaded %zu profile%s (%u warning%s)", set->n,
		    set->n == 1 ? "" : "s", d.warnings,
		    d.warnings == 1 ? "" : "s");
	else
		log_warnx("profiles not loaded: %u error%s", d.errors,
		    d.errors == 1 ? "" : "s");
	return set;
}

/*
 * Each client takes two descriptors (its socket and its connection to
 * tor). Raise the soft limit on open files to the hard one, and lower
 * max-clients to what that limit can hold, keeping some for listeners,
 * spares, logs and files.
 */
#define FD_RESERVE 64

static void
raise_fd_limit(limits_t *L)
{
	struct rlimit rl;
	rlim_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	fit = rl.rlim_cur > FD_RESERVE ? (rl.rlim_cur - FD_RESERVE) / 2 : 1;
	if (fit < L->max_clients) {
		log_info("max-clients lowered from %u to %llu to fit the limit "
		    "of %llu open files", L->max_clients,
		    (unsigned long long)fit, (unsigned long long)rl.rlim_cur);
		L->max_clients = (unsigned)fit;
	}
}

/* torview_has_profile_fn: is there a profile of this name now? */
static bool
has_profile(void *arg, const char *name)
{
	const gate_t *g = arg;
	return profile_set_find(g->profiles, name) != NULL;
}

typedef struct daemon_state {
	config_t *cfg;
	gate_t *gate;
	bool reload_failed;     /* the last SIGHUP kept the previous set */
} daemon_state_t;

/* How often, at most, systemd is told the status line (only when it
 * changed): a busy daemon sends one datagram per interval, not one per
 * client. */
#define STATUS_INTERVAL_SEC 5

/* The STATUS= line: clients now, profiles loaded. */
static void
status_text(const daemon_state_t *d, char *buf, size_t len)
{
	size_t np = d->gate->profiles != NULL ? d->gate->profiles->n : 0;

	snprintf(buf, len, "%u client%s, %zu profile%s loaded%s",
	    d->gate->n_sessions, d->gate->n_sessions == 1 ? "" : "s", np,
	    np == 1 ? "" : "s", d->reload_failed ? "; the last reload "
	    "failed, the previous profiles are kept" : "");
}

static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	char st[SDNOTIFY_STATUS_MAX];

	status_text(arg, st, sizeof(st));
	sdnotify_status(st);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	daemon_state_t *d = arg;
	char st[SDNOTIFY_STATUS_MAX];

	switch (sig) {
	case SIGHUP: {
		profile_set_t *set;
		log_info("SIGHUP: reloading profiles");
		sdnotify_reloading();
		set = load_profiles(d->cfg);
		d->reload_failed = set == NULL;
		if (set == NULL) {
			log_warnx("reload failed; keeping the previous profiles");
		} else {
			profile_set_unref(d->gate->profiles);
			d->gate->profiles = set;
		}
		status_text(d, st, sizeof(st));
		sdnotify_ready(st);
		break;
	}
	default:
		log_info("signal %d: exiting", (int)sig);
		sdnotify_stopping();
		event_base_loopbreak(d->gate->base);
		break;
	}
}

/*
 * The listeners: the sockets systemd passed, then those configured,
 * bound here. Without a configured one (-l, listen:) the built-in
 * addresses are bound only if systemd passed nothing. A configured
 * address systemd passed already is served once, from systemd's socket,
 * if both bind the same profile (else torgate does not start: which one
 * was meant?). Set *out and *n; -1 (logged) on failure.
 */
static int
open_listeners(const config_t *cfg, listener_t ***out, size_t *n)
{
	listener_t **act = NULL, **ls;
	size_t n_act = 0, k;

	if (listener_activated(&act, &n_act) < 0)
		return -1;
	ls = xcalloc(n_act + cfg->n_listens, sizeof(*ls));
	for (k = 0; k < n_act; k++)
		ls[k] = act[k];
	free(act);
	*out = ls;
	*n = k;
	if (n_act > 0 && cfg->listens_defaulted)
		return 0;
	for (size_t i = 0; i < cfg->n_listens; i++) {
		const listen_spec_t *spec = &cfg->listens[i];
		const listener_t *dup = NULL;
		for (size_t j = 0; j < n_act && dup == NULL; j++)
			if (listener_is_at(ls[j], &spec->addr))
				dup = ls[j];
		if (dup != NULL) {
			const char *p = listener_profile(dup);
			if ((p == NULL) != (spec->profile == NULL) ||
			    (p != NULL && strcmp(p, spec->profile) != 0)) {
				log_warnx("listen %s: systemd passed this "
				    "socket bound to %s%s, the configuration "
				    "binds it to %s%s: make them agree",
				    spec->addr.text, p ? "profile " : "no profile",
				    p ? p : "", spec->profile ? "profile " :
				    "no profile", spec->profile ? spec->profile :
				    "");
				return -1;
			}
			log_info("listen %s: served from the socket systemd "
			    "passed", spec->addr.text);
			continue;
		}
		if ((ls[k] = listener_bind(spec)) == NULL)
			return -1;
		*n = ++k;
	}
	return 0;
}

/*
 * --cookie-file: write torgate's own client cookie, with the privileges
 * torgate was started with (like binding a listener: the directory may
 * be one the worker cannot write to). Its owner is the worker's user
 * when started as root (else whoever torgate runs as), its group the
 * configured one (else the worker's), its mode the configured one.
 * NULL (logged) if it cannot be made: torgate then does not start.
 */
static torauth_client_t *
make_client_cookie(const config_t *cfg, const privdrop_user_t *user)
{
	bool as_root = geteuid() == 0 && cfg->user != NULL;
	uid_t uid = as_root ? user->uid : (uid_t)-1;
	gid_t gid = as_root ? user->gid : (gid_t)-1;
	torauth_client_t *c;
	char err[PATH_MAX + 128];

	if (cfg->cookie_group != NULL) {
		struct group gr, *res = NULL;
		char buf[4096];
		int e = getgrnam_r(cfg->cookie_group, &gr, buf, sizeof(buf),
		    &res);
		if (res == NULL) {
			log_warnx("cookie-file %s: group %s: %s",
			    cfg->cookie_file, cfg->cookie_group,
			    e != 0 ? strerror(e) : "no such group");
			return NULL;
		}
		gid = gr.gr_gid;
	}
	c = xzalloc(sizeof(*c));
	if (torauth_write_cookie(cfg->cookie_file, (mode_t)cfg->cookie_mode,
	    uid, gid, c->cookie, err, sizeof(err)) < 0) {
		log_warnx("cookie-file: %s", err);
		torauth_client_free(c);
		return NULL;
	}
	c->path = xstrdup(cfg->cookie_file);
	log_info("clients authenticate with torgate's own cookie, %s (mode "
	    "%04o)", c->path, cfg->cookie_mode);
	return c;
}

/*
 * The monitor, just forked (ident_spawn): forget torgate's client
 * cookie (it never needs it), keep only what identifying clients needs,
 * enter its AppArmor role, load its filter.
 */
static void
confine_monitor(void *arg)
{
	daemon_state_t *d = arg;
	const config_t *cfg = d->cfg;
	struct passwd pw, *res = NULL;
	char buf[4096];

	/* The worker speaks to systemd (NotifyAccess=main), not this. */
	unsetenv("NOTIFY_SOCKET");
	torauth_client_free(d->gate->client_auth);
	d->gate->client_auth = NULL;
	/* Load NSS's modules now: the filter maps nothing executable. */
	(void)getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res);
	privdrop_monitor();
	if (!privdrop_monitor_can_scan())
		log_info("monitor: without CAP_SYS_PTRACE and "
		    "CAP_DAC_READ_SEARCH, another user's loopback TCP client "
		    "is known by its uid only, not its program");
	if (aarole_enter("monitor") < 0)
		fatal("monitor: entering its AppArmor role");
	if (!cfg->no_sandbox)
		sandbox_enter(SANDBOX_MONITOR, 0);
}

/* The worker, the monitor forked: become the --user with no capability,
 * enter its AppArmor role, load its filter. */
static void
confine_worker(const config_t *cfg, const privdrop_user_t *user,
    pid_t monitor)
{
	privdrop_worker(cfg->user != NULL ? user : NULL);
	if (aarole_enter("worker") < 0)
		fatal("worker: entering its AppArmor role");
	if (cfg->no_sandbox)
		log_warnx("--no-sandbox: no seccomp filter is loaded");
	else
		sandbox_enter(SANDBOX_WORKER, monitor);
}

#if TORGATE_TEST_HOOKS
/* Test builds only (-Dtest_hooks=true): with TORGATE_TEST_FORBIDDEN_SYSCALL
 * set, SIGUSR1 makes the worker call setuid(0), which its filter does not
 * allow: the sandbox must kill it. */
static void
forbidden_syscall_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("test hook: calling setuid(0) under the filter");
	(void)syscall(SYS_setuid, 0);
	log_warnx("test hook: setuid(0) returned");
}
#endif

int
main(int argc, char **argv)
{
	config_t cfg;
	gate_t gate;
	daemon_state_t d = { &cfg, &gate, false };
	listener_t **listeners = NULL;
	size_t n_listeners = 0;
	struct event *status_ev = NULL;
	char status[SDNOTIFY_STATUS_MAX];
	tg_addr_t *own = NULL;
	upstream_conf_t upconf;
	struct event *sigs[3];
#if TORGATE_TEST_HOOKS
	struct event *hook = NULL;
#endif
	privdrop_user_t user;
	static const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t startup_sigs;
	char err[512];
	int rc = 1;

	switch (config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		config_clear(&cfg);
		return 0;
	case CONFIG_EXIT_ERROR:
		rc = cfg.check ? 1 : 2;
		config_clear(&cfg);
		return rc;
	case CONFIG_RUN:
		break;
	}
	if (cfg.check) {
		rc = check_only(&cfg);
		config_clear(&cfg);
		return rc;
	}
	/* Who the worker will be, known before anything is opened. */
	if (cfg.user != NULL &&
	    privdrop_lookup(cfg.user, &user, err, sizeof(err)) < 0) {
		fprintf(stderr, "torgate: --user: %s\n", err);
		config_clear(&cfg);
		return 1;
	}
	if (cfg.user == NULL && geteuid() == 0) {
		fprintf(stderr, "torgate: started as root without --user: "
		    "torgate does not serve clients as root; give --user USER "
		    "(or 'user:' in the config file)\n");
		config_clear(&cfg);
		return 1;
	}
	log_init(cfg.foreground, cfg.debug);
	signal(SIGPIPE, SIG_IGN);
	/* Until the loop's handlers are in, TERM, INT and HUP wait: their
	 * default action would end torgate half set up (a reload right after
	 * a start would kill it). They are delivered once the handlers are. */
	sigemptyset(&startup_sigs);
	for (size_t i = 0; i < ARRAY_LEN(signums); i++)
		sigaddset(&startup_sigs, signums[i]);
	sigprocmask(SIG_BLOCK, &startup_sigs, NULL);

	if (!session_tables_ok())
		fatalx("internal error: a local command has no answer");

	memset(&gate, 0, sizeof(gate));
	TAILQ_INIT(&gate.sessions);
	TAILQ_INIT(&gate.dead);
	gate.limits = cfg.limits;
	raise_fd_limit(&gate.limits);
	memset(&upconf, 0, sizeof(upconf));
	if (addr_parse(cfg.tor, &upconf.addr, err, sizeof(err)) < 0)
		fatalx("--tor: %s", err);
	upconf.cookie_path = cfg.tor_cookie;
	upconf.password_file = cfg.tor_password_file;
	upconf.timeout_sec = 10;
	if (cfg.learn_dir != NULL) {
		gate.mode = MODE_LEARN;
		gate.learn = learn_set_new(cfg.learn_dir);
		log_info("learn mode: forwarding everything, suggested profiles "
		    "go to %s", cfg.learn_dir);
	} else if (cfg.complain) {
		gate.mode = MODE_COMPLAIN;
		log_info("complain mode: forwarding everything, logging what "
		    "the profiles would deny");
	}

	gate.profiles = load_profiles(&cfg);
	if (gate.profiles == NULL)
		fatalx("cannot start without valid profiles");

	/*
	 * The order is fixed: write torgate's client cookie and open the
	 * listening sockets (privileged ports, root-owned directories),
	 * detach, fork the monitor (which confines itself and forgets the
	 * cookie), drop the worker's privileges, load its filter, then build
	 * the event loop and start serving: nothing that reads a client's or
	 * tor's bytes runs before the filter is in. Sockets systemd passed
	 * are taken before daemon(), whose fork changes the pid they were
	 * passed to (LISTEN_PID).
	 */
	/* The cookie first: whoever can connect finds the one to bring. */
	if (cfg.cookie_file != NULL &&
	    (gate.client_auth = make_client_cookie(&cfg, &user)) == NULL)
		goto out;
	if (open_listeners(&cfg, &listeners, &n_listeners) < 0)
		goto out;
	if (n_listeners == 0)
		fatalx("no socket to listen on");
	own = xcalloc(n_listeners, sizeof(*own));
	for (size_t i = 0; i < n_listeners; i++)
		own[i] = *listener_addr(listeners[i]);
	if (!cfg.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	gate.ident = ident_spawn(confine_monitor, &d);
	confine_worker(&cfg, &user, ident_pid(gate.ident));

	gate.base = event_base_new();
	if (gate.base == NULL)
		fatalx("event_base_new failed");
	ident_attach(gate.ident, gate.base);
	gate.tor = torview_new(gate.base, &upconf, own, n_listeners);
	if (cfg.state_dir != NULL)
		torview_keep_state(gate.tor, cfg.state_dir, has_profile, &gate);
	torview_set_retry_max(gate.tor, gate.limits.tor_retry_max_ms);
	for (size_t i = 0; i < n_listeners; i++)
		if (listener_start(listeners[i], &gate) < 0)
			goto out;
	torview_start_pool(gate.tor, cfg.upstream_pool);

	for (size_t i = 0; i < ARRAY_LEN(signums); i++) {
		sigs[i] = evsignal_new(gate.base, signums[i], signal_cb, &d);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) < 0)
			fatalx("cannot install signal handlers");
	}
	sigprocmask(SIG_UNBLOCK, &startup_sigs, NULL);
#if TORGATE_TEST_HOOKS
	if (getenv("TORGATE_TEST_FORBIDDEN_SYSCALL") != NULL) {
		hook = evsignal_new(gate.base, SIGUSR1, forbidden_syscall_cb,
		    NULL);
		if (hook == NULL || evsignal_add(hook, NULL) < 0)
			fatalx("cannot install the test hook");
	}
#endif
	if (sdnotify_enabled()) {
		struct timeval tv = { STATUS_INTERVAL_SEC, 0 };
		status_ev = event_new(gate.base, -1, EV_PERSIST, status_cb, &d);
		if (status_ev == NULL || event_add(status_ev, &tv) < 0)
			fatalx("cannot install the status timer");
	}
	log_info("torgate started; tor at %s", upconf.addr.text);
	status_text(&d, status, sizeof(status));
	sdnotify_ready(status);
	event_base_dispatch(gate.base);
	rc = 0;
	if (status_ev != NULL)
		event_free(status_ev);
	for (size_t i = 0; i < ARRAY_LEN(signums); i++)
		event_free(sigs[i]);
#if TORGATE_TEST_HOOKS
	if (hook != NULL)
		event_free(hook);
#endif
out:
	session_free_all(&gate);
	torview_free(gate.tor);
	for (size_t i = 0; i < n_listeners; i++)
		listener_free(listeners[i]);
	free(listeners);
	free(own);
	/* Freed bufferevents finish from the loop (their finalizers): give
	 * them one last turn so that nothing is left behind. */
	if (gate.base != NULL)
		event_base_loop(gate.base, EVLOOP_NONBLOCK);
	ident_free(gate.ident);
	profile_set_unref(gate.profiles);
	if (gate.base != NULL)
		event_base_free(gate.base);
	learn_set_free(gate.learn);
	torauth_client_free(gate.client_auth);
	config_clear(&cfg);
	return rc;
}
