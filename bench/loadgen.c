/*
 * loadgen.c: a load generator for Tor's control protocol, used by
 * bench/run.sh to compare tor reached directly, through a bare relay and
 * through torgate.
 *
 * Every reply is framed as tor frames it (mid lines "NNN-", data blocks
 * "NNN+" ... ".", end line "NNN ", asynchronous 650 events) and compared
 * byte for byte with the expected reply: a wrong or denied reply is an
 * error, a connection that ends (or times out) before its reply is a
 * dropped one, and neither ever counts towards a rate.
 *
 * Each measurement prints one line of key=value pairs on stdout.
 *
 *   loadgen MODE --target ADDR [options]
 *
 * Modes:
 *   freeport    print a free loopback TCP port (no other option)
 *   exec-mdwe PROGRAM ARGS...: run PROGRAM with memory that is writable
 *               never executable (systemd's MemoryDenyWriteExecute=yes)
 *   probe       authenticate, GETINFO version, print version=...
 *   connect     -n N: connect + authenticate + one command + close
 *   rtt         -n N: sequential round trips on one connection
 *   pipeline    -n N: N commands in batches of --batch on one connection
 *   concurrent  --clients C --per-client R: C connections, R round trips
 *               each, all in flight together
 *   events      -n N: subscribe --subs S connections through ADDR to
 *               ADDRMAP events, make N MAPADDRESS changes through
 *               --trigger (tor directly, pipelined), and check every event
 *               that arrives (in order, exact text); --event CONF_CHANGED
 *               uses SETCONF --conf-key instead (much slower in tor)
 *   idle        --clients C --pid PID: hold C authenticated idle clients;
 *               PID's memory per client, its CPU while they idle, and the
 *               time to wake them all
 *
 * ADDR is unix:/PATH or HOST:PORT ([V6]:PORT). --auth says what the
 * target needs: null (a bare "AUTHENTICATE", as torgate accepts),
 * cookie or safecookie (with --cookie FILE). --cmd and --reply set the
 * command and its exact expected reply (lines separated by '|', CRLFs
 * added); by default "GETINFO version" and the reply built from
 * --version V.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nettle/hmac.h>

#define COOKIE_LEN 32
#define NONCE_LEN 32
#define MAX_MSG (4u << 20)      /* longest reply we accept */
#define MAX_CMD 4096

/* ---- small helpers ------------------------------------------------------ */

static void
die(const char *what)
{
	fprintf(stderr, "loadgen: %s\n", what);
	exit(2);
}

static void
die_errno(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)in[2 * i]);
		int lo = hexval((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Percentile q (0..100) of v[0..n), in microseconds; sorts v. */
static double
pct_us(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)((double)(n - 1) * q / 100.0 + 0.5);
	return (double)v[i] / 1000.0;
}

/* ---- options ------------------------------------------------------------ */

typedef struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
	char text[200];
} target_t;

typedef enum { AUTH_NULL, AUTH_COOKIE, AUTH_SAFECOOKIE } auth_t;

static struct {
	const char *mode;
	const char *label;
	const char *tag;
	target_t target;
	bool have_target;
	auth_t auth;
	uint8_t cookie[COOKIE_LEN];
	bool have_cookie;
	bool protocolinfo;
	char cmd[MAX_CMD];
	size_t cmd_len;            /* with CRLF */
	char *reply;               /* expected reply, with CRLFs */
	size_t reply_len;
	const char *version;
	long n;
	int batch;
	int clients;
	int per_client;
	int window;
	int timeout_ms;
	/* events */
	target_t trigger;
	bool have_trigger;
	int subs;
	const char *conf_key;
	bool conf_changed;         /* CONF_CHANGED events instead of ADDRMAP */
	/* idle */
	pid_t pid;
	bool tree;
	double idle_secs;
	double open_secs;          /* idle: stop opening clients after this */
} O;

static void
parse_target(const char *s, target_t *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->text, sizeof(t->text), "%s", s);
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->ss;
		if (strlen(s + 5) >= sizeof(sun->sun_path))
			die("unix socket path too long");
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s + 5);
		t->len = sizeof(*sun);
		t->family = AF_UNIX;
		return;
	}
	{
		char host[128];
		const char *colon, *h = s;
		size_t hl;
		long port;
		if (*s == '[') {
			const char *rb = strchr(s, ']');
			if (rb == NULL || rb[1] != ':')
				die("bad address");
			h = s + 1;
			hl = (size_t)(rb - h);
			colon = rb + 1;
		} else {
			colon = strrchr(s, ':');
			if (colon == NULL)
				die("bad address (unix:/PATH or HOST:PORT)");
			hl = (size_t)(colon - s);
		}
		if (hl >= sizeof(host))
			die("bad address");
		memcpy(host, h, hl);
		host[hl] = '\0';
		port = strtol(colon + 1, NULL, 10);
		if (port <= 0 || port > 65535)
			die("bad port");
		if (strchr(host, ':') != NULL) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&t->ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)port);
			if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
				die("bad IPv6 address");
			t->len = sizeof(*a);
			t->family = AF_INET6;
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&t->ss;
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)port);
			if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
				die("bad IPv4 address");
			t->len = sizeof(*a);
			t->family = AF_INET;
		}
	}
}

static void
read_cookie(const char *path)
{
	uint8_t extra;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die_errno(path);
	n = read(fd, O.cookie, COOKIE_LEN);
	if (n != COOKIE_LEN || read(fd, &extra, 1) != 0)
		die("the cookie file is not 32 bytes");
	close(fd);
	O.have_cookie = true;
}

/* "a|b" -> "a\r\nb\r\n" */
static void
set_reply(const char *spec)
{
	size_t n = strlen(spec), j = 0;

	free(O.reply);
	O.reply = xmalloc(2 * n + 3);
	for (size_t i = 0; i < n; i++) {
		if (spec[i] == '|') {
			O.reply[j++] = '\r';
			O.reply[j++] = '\n';
		} else {
			O.reply[j++] = spec[i];
		}
	}
	O.reply[j++] = '\r';
	O.reply[j++] = '\n';
	O.reply[j] = '\0';
	O.reply_len = j;
}

static void
set_cmd(const char *cmd)
{
	size_t n = strlen(cmd);

	if (n + 3 > sizeof(O.cmd) || strpbrk(cmd, "\r\n") != NULL)
		die("bad --cmd");
	memcpy(O.cmd, cmd, n);
	memcpy(O.cmd + n, "\r\n", 3);
	O.cmd_len = n + 2;
}

static void
usage(void)
{
	fputs("usage: loadgen probe|connect|rtt|pipeline|concurrent|events|idle\n"
	    "  --target ADDR      unix:/PATH or HOST:PORT\n"
	    "  --auth null|cookie|safecookie   [--cookie FILE]\n"
	    "  --no-protocolinfo  skip PROTOCOLINFO before authenticating\n"
	    "  --version V        expect GETINFO version to say V\n"
	    "  --cmd CMD --reply 'LINE|LINE'   command and its exact reply\n"
	    "  -n N  --batch B  --clients C  --per-client R  --window W\n"
	    "  --trigger ADDR --subs S --event ADDRMAP|CONF_CHANGED\n"
	    "                     [--conf-key KEY]   (events; the trigger uses\n"
	    "                     --cookie with safecookie, or cookie if asked)\n"
	    "  --pid PID [--tree] --idle-secs S [--open-secs S]   (idle; stop\n"
	    "                     opening clients after --open-secs)\n"
	    "  --timeout-ms MS  --label NAME  --tag 'k=v ...'\n", stderr);
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	const char *cmd = "GETINFO version", *reply = NULL;

	if (argc < 2)
		usage();
	O.mode = argv[1];
	O.label = O.mode;
	O.tag = "";
	O.auth = AUTH_NULL;
	O.protocolinfo = true;
	O.n = 1000;
	O.batch = 64;
	O.clients = 100;
	O.per_client = 200;
	O.window = 64;
	O.timeout_ms = 10000;
	O.subs = 1;
	O.conf_key = "ContactInfo";
	O.idle_secs = 3;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(a, "--no-protocolinfo")) {
			O.protocolinfo = false;
			takes = false;
		} else if (!strcmp(a, "--tree")) {
			O.tree = true;
			takes = false;
		} else if (v == NULL) {
			usage();
		} else if (!strcmp(a, "--target")) {
			parse_target(v, &O.target);
			O.have_target = true;
		} else if (!strcmp(a, "--trigger")) {
			parse_target(v, &O.trigger);
			O.have_trigger = true;
		} else if (!strcmp(a, "--auth")) {
			if (!strcmp(v, "null"))
				O.auth = AUTH_NULL;
			else if (!strcmp(v, "cookie"))
				O.auth = AUTH_COOKIE;
			else if (!strcmp(v, "safecookie"))
				O.auth = AUTH_SAFECOOKIE;
			else
				usage();
		} else if (!strcmp(a, "--cookie")) {
			read_cookie(v);
		} else if (!strcmp(a, "--version")) {
			O.version = v;
		} else if (!strcmp(a, "--cmd")) {
			cmd = v;
		} else if (!strcmp(a, "--reply")) {
			reply = v;
		} else if (!strcmp(a, "-n")) {
			O.n = atol(v);
		} else if (!strcmp(a, "--batch")) {
			O.batch = atoi(v);
		} else if (!strcmp(a, "--clients")) {
			O.clients = atoi(v);
		} else if (!strcmp(a, "--per-client")) {
			O.per_client = atoi(v);
		} else if (!strcmp(a, "--window")) {
			O.window = atoi(v);
		} else if (!strcmp(a, "--timeout-ms")) {
			O.timeout_ms = atoi(v);
		} else if (!strcmp(a, "--subs")) {
			O.subs = atoi(v);
		} else if (!strcmp(a, "--conf-key")) {
			O.conf_key = v;
		} else if (!strcmp(a, "--event")) {
			if (!strcmp(v, "CONF_CHANGED"))
				O.conf_changed = true;
			else if (strcmp(v, "ADDRMAP") != 0)
				usage();
		} else if (!strcmp(a, "--pid")) {
			O.pid = (pid_t)atol(v);
		} else if (!strcmp(a, "--open-secs")) {
			O.open_secs = atof(v);
		} else if (!strcmp(a, "--idle-secs")) {
			O.idle_secs = atof(v);
		} else if (!strcmp(a, "--label")) {
			O.label = v;
		} else if (!strcmp(a, "--tag")) {
			O.tag = v;
		} else {
			usage();
		}
		if (takes)
			i++;
	}
	if (!O.have_target)
		usage();
	if (O.auth != AUTH_NULL && !O.have_cookie)
		die("--auth cookie/safecookie needs --cookie FILE");
	if (O.n < 1 || O.batch < 1 || O.clients < 1 || O.per_client < 1 ||
	    O.window < 1 || O.subs < 1 || O.timeout_ms < 1)
		die("counts must be positive");
	set_cmd(cmd);
	if (reply != NULL) {
		set_reply(reply);
	} else if (O.version != NULL) {
		char *r = xmalloc(strlen(O.version) + 32);
		sprintf(r, "250-version=%s|250 OK", O.version);
		set_reply(r);
		free(r);
	} else if (strcmp(O.mode, "probe") != 0 &&
	    strcmp(O.mode, "events") != 0) {
		die("give --version V or --reply R: every reply is checked");
	}
}

/* ---- connections and reply framing -------------------------------------- */

typedef struct conn {
	int fd;
	char *buf;
	size_t cap, off, len, scan, msg_start;
	bool in_msg, in_data, is_event;
	/* authentication */
	int astate;
	auth_t auth;
	uint8_t cnonce[NONCE_LEN];
	/* per-mode */
	long todo;          /* round trips still to start */
	long outstanding;   /* commands sent, replies not yet seen */
	uint64_t t_sent;
	long next_seq;      /* events: next expected sequence number */
	bool open, dead;
} conn_t;

static void
conn_init(conn_t *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
conn_close(conn_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->cap = c->off = c->len = c->scan = c->msg_start = 0;
	c->in_msg = c->in_data = c->is_event = false;
	c->open = false;
}

static int
set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* A blocking connection to t, with a receive timeout. */
static int
conn_connect(conn_t *c, const target_t *t)
{
	struct timeval tv = { O.timeout_ms / 1000, (O.timeout_ms % 1000) * 1000 };
	int one = 1;

	conn_init(c);
	c->fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (t->family != AF_UNIX)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&t->ss, t->len) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	c->open = true;
	return 0;
}

/* Write everything, waiting for room if the socket is nonblocking. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { fd, POLLOUT, 0 };
				if (poll(&pfd, 1, O.timeout_ms) <= 0)
					return -1;
				continue;
			}
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read once. Returns bytes read, 0 at EOF, -1 on error (EAGAIN included). */
static ssize_t
conn_fill(conn_t *c)
{
	ssize_t r;

	if (c->off > 0 && (c->off == c->len || c->cap - c->len < 16384)) {
		size_t keep = c->len - c->off;
		memmove(c->buf, c->buf + c->off, keep);
		c->scan -= c->off;
		if (c->in_msg)
			c->msg_start -= c->off;
		c->len = keep;
		c->off = 0;
	}
	if (c->cap - c->len < 16384) {
		size_t ncap = c->cap ? c->cap * 2 : 65536;
		char *nb;
		if (ncap > MAX_MSG + 65536) {
			errno = EMSGSIZE;
			return -1;
		}
		nb = realloc(c->buf, ncap);
		if (nb == NULL)
			die("out of memory");
		c->buf = nb;
		c->cap = ncap;
	}
	do
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

/*
 * The next complete message in c's buffer: 1 (and *msg, *len, *ev), 0 if
 * more bytes are needed, -1 if what tor (or the proxy) sent is not the
 * control protocol. The message stays valid until the next conn_fill().
 */
static int
conn_next(conn_t *c, const char **msg, size_t *len, bool *ev)
{
	while (c->scan < c->len) {
		char *line = c->buf + c->scan;
		char *nl = memchr(line, '\n', c->len - c->scan);
		size_t start = c->scan, llen;

		if (nl == NULL)
			return 0;
		llen = (size_t)(nl - line) + 1;
		c->scan += llen;
		if (c->in_data) {
			if ((llen == 3 && line[0] == '.' && line[1] == '\r') ||
			    (llen == 2 && line[0] == '.'))
				c->in_data = false;
			continue;
		}
		if (llen < 5 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]))
			return -1;
		if (!c->in_msg) {
			c->in_msg = true;
			c->msg_start = start;
			c->is_event = !memcmp(line, "650", 3);
		}
		switch (line[3]) {
		case '-':
			break;
		case '+':
			c->in_data = true;
			break;
		case ' ':
			*msg = c->buf + c->msg_start;
			*len = c->scan - c->msg_start;
			*ev = c->is_event;
			c->in_msg = false;
			c->off = c->scan;
			return 1;
		default:
			return -1;
		}
	}
	return 0;
}

/* Blocking: the next message that is not an event (events are skipped and
 * counted). 1 ok, -1 protocol error, -2 closed or timed out. */
static long events_skipped;

static int
conn_read_reply(conn_t *c, const char **msg, size_t *len)
{
	for (;;) {
		bool ev;
		int r = conn_next(c, msg, len, &ev);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (ev) {
				events_skipped++;
				continue;
			}
			return 1;
		}
		if (conn_fill(c) <= 0)
			return -2;
	}
}

static bool
reply_ok(const char *msg, size_t len)
{
	return len == O.reply_len && memcmp(msg, O.reply, len) == 0;
}

/* Show the first unexpected reply, once per process, to make errors
 * diagnosable without a debugger. */
static void
report_unexpected(const char *what, const char *msg, size_t len)
{
	static bool shown;
	if (shown)
		return;
	shown = true;
	fprintf(stderr, "loadgen: %s: unexpected reply: %.*s\n", what,
	    (int)(len > 300 ? 300 : len), msg);
}

/* ---- authentication (a small state machine, blocking or not) ------------ */

enum { A_PROTOCOLINFO, A_CHALLENGE, A_AUTHENTICATE, A_DONE };

static const char server_key[] =
    "Tor safe cookie authentication server-to-controller hash";
static const char client_key[] =
    "Tor safe cookie authentication controller-to-server hash";

static void
safecookie_hmac(const char *key, const uint8_t *cn, const uint8_t *sn,
    uint8_t out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx h;

	hmac_sha256_set_key(&h, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&h, COOKIE_LEN, O.cookie);
	hmac_sha256_update(&h, NONCE_LEN, cn);
	hmac_sha256_update(&h, NONCE_LEN, sn);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

static int
auth_send_method(conn_t *c)
{
	char line[256], hex[2 * COOKIE_LEN + 1];

	switch (c->auth) {
	case AUTH_NULL:
		c->astate = A_AUTHENTICATE;
		return write_all(c->fd, "AUTHENTICATE\r\n", 14);
	case AUTH_COOKIE:
		hex_encode(O.cookie, COOKIE_LEN, hex);
		snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", hex);
		c->astate = A_AUTHENTICATE;
		return write_all(c->fd, line, strlen(line));
	case AUTH_SAFECOOKIE:
		if (getrandom(c->cnonce, NONCE_LEN, 0) != NONCE_LEN)
			die_errno("getrandom");
		hex_encode(c->cnonce, NONCE_LEN, hex);
		snprintf(line, sizeof(line), "AUTHCHALLENGE SAFECOOKIE %s\r\n",
		    hex);
		c->astate = A_CHALLENGE;
		return write_all(c->fd, line, strlen(line));
	}
	return -1;
}

static int
auth_start(conn_t *c, auth_t how)
{
	c->auth = how;
	if (O.protocolinfo) {
		c->astate = A_PROTOCOLINFO;
		return write_all(c->fd, "PROTOCOLINFO 1\r\n", 16);
	}
	return auth_send_method(c);
}

static const char *
find_kv(const char *s, size_t len, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i + kl + 1 <= len; i++)
		if ((i == 0 || s[i - 1] == ' ') && !memcmp(s + i, key, kl) &&
		    s[i + kl] == '=')
			return s + i + kl + 1;
	return NULL;
}

/* 1: authenticated, 0: more to come, -1: failed. */
static int
auth_on_msg(conn_t *c, const char *m, size_t n)
{
	static const char ok[] = "250 OK\r\n";

	switch (c->astate) {
	case A_PROTOCOLINFO:
		if (n < 20 || memcmp(m, "250-PROTOCOLINFO 1", 18) != 0 ||
		    n < 8 || memcmp(m + n - 8, ok, 8) != 0) {
			report_unexpected("PROTOCOLINFO", m, n);
			return -1;
		}
		return auth_send_method(c) < 0 ? -1 : 0;
	case A_CHALLENGE: {
		const char *sh = find_kv(m, n, "SERVERHASH");
		const char *sn = find_kv(m, n, "SERVERNONCE");
		uint8_t shash[32], snonce[NONCE_LEN], want[32];
		char line[128], hex[65];
		if (n < 4 || memcmp(m, "250 AUTHCHALLENGE ", 18) != 0 ||
		    sh == NULL || sn == NULL ||
		    hex_decode(sh, strcspn(sh, " \r\n"), shash, 32) < 0 ||
		    hex_decode(sn, strcspn(sn, " \r\n"), snonce, NONCE_LEN) < 0) {
			report_unexpected("AUTHCHALLENGE", m, n);
			return -1;
		}
		safecookie_hmac(server_key, c->cnonce, snonce, want);
		if (memcmp(want, shash, 32) != 0) {
			fprintf(stderr, "loadgen: SAFECOOKIE server hash "
			    "mismatch\n");
			return -1;
		}
		safecookie_hmac(client_key, c->cnonce, snonce, want);
		hex_encode(want, 32, hex);
		snprintf(line, sizeof(line), "AUTHENTICATE %s\r\n", hex);
		c->astate = A_AUTHENTICATE;
		return write_all(c->fd, line, strlen(line)) < 0 ? -1 : 0;
	}
	case A_AUTHENTICATE:
		if (n != 8 || memcmp(m, ok, 8) != 0) {
			report_unexpected("AUTHENTICATE", m, n);
			return -1;
		}
		c->astate = A_DONE;
		return 1;
	default:
		return -1;
	}
}

/* Blocking connect + authenticate. 0 ok, -1 could not connect, -2 failed
 * authentication, -3 closed or timed out during it. */
static int
open_authed(conn_t *c, const target_t *t, auth_t how)
{
	const char *m;
	size_t n;
	int r;

	if (conn_connect(c, t) < 0)
		return -1;
	if (auth_start(c, how) < 0) {
		conn_close(c);
		return -3;
	}
	for (;;) {
		r = conn_read_reply(c, &m, &n);
		if (r == -2) {
			conn_close(c);
			return -3;
		}
		if (r < 0 || (r = auth_on_msg(c, m, n)) < 0) {
			conn_close(c);
			return -2;
		}
		if (r == 1)
			return 0;
	}
}

/* ---- output ------------------------------------------------------------- */

static void
out_begin(void)
{
	printf("mode=%s%s%s", O.label, O.tag[0] ? " " : "", O.tag);
}

static void
out_end(long errors, long dropped)
{
	printf(" errors=%ld dropped=%ld", errors, dropped);
	if (events_skipped)
		printf(" unexpected_events=%ld", events_skipped);
	printf("\n");
	fflush(stdout);
}

/* ---- probe -------------------------------------------------------------- */

static int
mode_probe(void)
{
	conn_t c;
	const char *m;
	size_t n;
	int r = open_authed(&c, &O.target, O.auth);

	if (r < 0) {
		fprintf(stderr, "loadgen: probe: cannot connect/authenticate "
		    "(%d)\n", r);
		return 1;
	}
	if (write_all(c.fd, "GETINFO version\r\n", 17) < 0 ||
	    conn_read_reply(&c, &m, &n) != 1 || n < 14 ||
	    memcmp(m, "250-version=", 12) != 0) {
		fprintf(stderr, "loadgen: probe: no version\n");
		return 1;
	}
	printf("version=%.*s\n", (int)strcspn(m + 12, " \r\n"), m + 12);
	conn_close(&c);
	return 0;
}

/* ---- connect ------------------------------------------------------------ */

static int
mode_connect(void)
{
	uint64_t *lat = xcalloc((size_t)O.n, sizeof(*lat));
	long ok = 0, errors = 0, dropped = 0, refused = 0;
	uint64_t t0 = now_ns(), t1;

	for (long i = 0; i < O.n; i++) {
		uint64_t a = now_ns();
		const char *m;
		size_t n;
		conn_t c;
		int r = open_authed(&c, &O.target, O.auth);

		if (r == -1) {
			refused++;
			dropped++;
			continue;
		}
		if (r == -2) {
			errors++;
			continue;
		}
		if (r == -3) {
			dropped++;
			continue;
		}
		if (write_all(c.fd, O.cmd, O.cmd_len) < 0 ||
		    (r = conn_read_reply(&c, &m, &n)) == -2) {
			dropped++;
		} else if (r < 0 || !reply_ok(m, n)) {
			if (r > 0)
				report_unexpected("connect", m, n);
			errors++;
		} else {
			lat[ok++] = now_ns() - a;
		}
		conn_close(&c);
	}
	t1 = now_ns();
	out_begin();
	printf(" n=%ld ok=%ld rate=%.1f p50_us=%.1f p99_us=%.1f refused=%ld",
	    O.n, ok, (double)ok * 1e9 / (double)(t1 - t0),
	    pct_us(lat, (size_t)ok, 50), pct_us(lat, (size_t)ok, 99), refused);
	out_end(errors, dropped);
	free(lat);
	return 0;
}

/* ---- rtt and pipeline --------------------------------------------------- */

static int
mode_rtt(void)
{
	uint64_t *lat = xcalloc((size_t)O.n, sizeof(*lat));
	long ok = 0, errors = 0, dropped = 0;
	uint64_t t0, t1;
	conn_t c;
	int r = open_authed(&c, &O.target, O.auth);

	if (r < 0) {
		fprintf(stderr, "loadgen: rtt: cannot open (%d)\n", r);
		out_begin();
		printf(" n=%ld ok=0 rate=0 p50_us=0 p99_us=0", O.n);
		out_end(r == -2 ? 1 : 0, r == -2 ? 0 : O.n);
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < O.n; i++) {
		uint64_t a = now_ns();
		const char *m;
		size_t n;
		if (write_all(c.fd, O.cmd, O.cmd_len) < 0 ||
		    (r = conn_read_reply(&c, &m, &n)) == -2)
			break;
		if (r < 0) {
			errors++;
			break;
		}
		if (!reply_ok(m, n)) {
			report_unexpected("rtt", m, n);
			errors++;
			continue;
		}
		lat[ok++] = now_ns() - a;
	}
	t1 = now_ns();
	conn_close(&c);
	dropped = O.n - ok - errors;
	out_begin();
	printf(" n=%ld ok=%ld rate=%.1f p50_us=%.2f p99_us=%.2f", O.n, ok,
	    (double)ok * 1e9 / (double)(t1 - t0), pct_us(lat, (size_t)ok, 50),
	    pct_us(lat, (size_t)ok, 99));
	out_end(errors, dropped);
	free(lat);
	return 0;
}

static int
mode_pipeline(void)
{
	long ok = 0, errors = 0, dropped = 0, sent = 0;
	char *batch = xmalloc(O.cmd_len * (size_t)O.batch);
	uint64_t t0, t1, *blat;
	size_t nb = 0;
	conn_t c;
	int r = open_authed(&c, &O.target, O.auth);

	if (r < 0) {
		fprintf(stderr, "loadgen: pipeline: cannot open (%d)\n", r);
		out_begin();
		printf(" n=%ld ok=0 rate=0 us_per_cmd=0", O.n);
		out_end(r == -2 ? 1 : 0, r == -2 ? 0 : O.n);
		return 1;
	}
	blat = xcalloc((size_t)(O.n / O.batch + 1), sizeof(*blat));
	for (int i = 0; i < O.batch; i++)
		memcpy(batch + (size_t)i * O.cmd_len, O.cmd, O.cmd_len);
	t0 = now_ns();
	while (sent < O.n) {
		long b = O.n - sent < O.batch ? O.n - sent : O.batch;
		uint64_t a = now_ns();
		if (write_all(c.fd, batch, (size_t)b * O.cmd_len) < 0)
			break;
		sent += b;
		for (long i = 0; i < b; i++) {
			const char *m;
			size_t n;
			r = conn_read_reply(&c, &m, &n);
			if (r < 0) {
				if (r == -1)
					errors++;
				goto out;
			}
			if (reply_ok(m, n)) {
				ok++;
			} else {
				report_unexpected("pipeline", m, n);
				errors++;
			}
		}
		blat[nb++] = now_ns() - a;
	}
out:
	t1 = now_ns();
	conn_close(&c);
	dropped = O.n - ok - errors;
	out_begin();
	printf(" n=%ld ok=%ld batch=%d rate=%.1f us_per_cmd=%.3f "
	    "batch_p50_us=%.1f batch_p99_us=%.1f", O.n, ok, O.batch,
	    (double)ok * 1e9 / (double)(t1 - t0),
	    ok ? (double)(t1 - t0) / 1e3 / (double)ok : 0.0,
	    pct_us(blat, nb, 50), pct_us(blat, nb, 99));
	out_end(errors, dropped);
	free(blat);
	free(batch);
	return 0;
}

/* ---- nonblocking helpers ------------------------------------------------ */

static int
ep_add(int ep, conn_t *c, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = c };
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

/*
 * Open and authenticate conns[0..n) with at most `window` handshakes in
 * flight, all driven by one epoll loop. Returns how many are open; the
 * others are closed. Gives up on the rest after O.timeout_ms without
 * progress, or after 3 consecutive connect failures.
 */
static long
open_many(conn_t *conns, long n, int window, const target_t *t, auth_t how,
    long *failed_connect, long *failed_auth, long *failed_closed,
    long *skipped)
{
	uint64_t deadline = O.open_secs > 0 ?
	    now_ns() + (uint64_t)(O.open_secs * 1e9) : 0;

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event evs[256];
	long next = 0, active = 0, opened = 0, consecutive = 0;

	if (ep < 0)
		die_errno("epoll_create1");
	*failed_connect = *failed_auth = *failed_closed = *skipped = 0;
	while (next < n || active > 0) {
		int k;
		if (deadline && next < n && now_ns() > deadline) {
			/* Out of time: hold what is open, start no more. */
			*skipped = n - next;
			next = n;
		}
		while (active < window && next < n && consecutive < 3) {
			conn_t *c = &conns[next++];
			if (conn_connect(c, t) < 0) {
				(*failed_connect)++;
				consecutive++;
				continue;
			}
			set_nonblock(c->fd, true);
			if (auth_start(c, how) < 0 ||
			    ep_add(ep, c, EPOLLIN) < 0) {
				(*failed_closed)++;
				conn_close(c);
				continue;
			}
			consecutive = 0;
			active++;
		}
		if (consecutive >= 3) {
			(*failed_connect) += n - next;
			next = n;
		}
		if (active == 0)
			break;
		k = epoll_wait(ep, evs, 256, O.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* No progress: everything in flight has failed, and
			 * so would the rest. */
			for (long i = 0; i < next; i++)
				if (conns[i].open && conns[i].astate != A_DONE) {
					(*failed_closed)++;
					conn_close(&conns[i]);
				}
			*failed_closed += n - next;
			next = n;
			active = 0;
			break;
		}
		for (int i = 0; i < k; i++) {
			conn_t *c = evs[i].data.ptr;
			ssize_t rd = conn_fill(c);
			const char *m;
			size_t mlen;
			bool ev;
			int r;
			if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
				(*failed_closed)++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				conn_close(c);
				active--;
				continue;
			}
			while ((r = conn_next(c, &m, &mlen, &ev)) == 1) {
				if (ev)
					continue;
				r = auth_on_msg(c, m, mlen);
				if (r != 0)
					break;
			}
			if (r == 1) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				opened++;
				active--;
			} else if (r < 0) {
				(*failed_auth)++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				conn_close(c);
				active--;
			}
		}
	}
	close(ep);
	return opened;
}

/* ---- concurrent --------------------------------------------------------- */

static int
mode_concurrent(void)
{
	long C = O.clients, total = C * (long)O.per_client;
	conn_t *conns = xcalloc((size_t)C, sizeof(*conns));
	uint64_t *lat = xcalloc((size_t)total, sizeof(*lat));
	long ok = 0, bad = 0, fc, fa, fx, fs, active = 0;
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t t0, t1;

	if (ep < 0)
		die_errno("epoll_create1");
	for (long i = 0; i < C; i++)
		conn_init(&conns[i]);
	open_many(conns, C, O.window, &O.target, O.auth, &fc, &fa, &fx, &fs);
	/* Every client has its first command in flight before timing starts
	 * to matter: the replies cannot arrive before this loop ends. */
	t0 = now_ns();
	for (long i = 0; i < C; i++) {
		conn_t *c = &conns[i];
		if (!c->open)
			continue;
		c->todo = O.per_client;
		c->t_sent = now_ns();
		if (ep_add(ep, c, EPOLLIN) < 0 ||
		    write_all(c->fd, O.cmd, O.cmd_len) < 0) {
			conn_close(c);
			continue;
		}
		active++;
	}
	while (active > 0) {
		int k = epoll_wait(ep, evs, 256, O.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;          /* stalled: what is missing is dropped */
		for (int i = 0; i < k; i++) {
			conn_t *c = evs[i].data.ptr;
			ssize_t rd;
			const char *m;
			size_t n;
			bool ev;
			int r;
			if (!c->open)
				continue;
			rd = conn_fill(c);
			if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
				conn_close(c);
				active--;
				continue;
			}
			while ((r = conn_next(c, &m, &n, &ev)) == 1) {
				uint64_t t = now_ns();
				if (ev) {
					events_skipped++;
					continue;
				}
				if (reply_ok(m, n)) {
					lat[ok++] = t - c->t_sent;
				} else {
					report_unexpected("concurrent", m, n);
					bad++;
				}
				if (--c->todo == 0)
					break;
				c->t_sent = t;
				if (write_all(c->fd, O.cmd, O.cmd_len) < 0)
					break;
			}
			if (r < 0) {
				bad++;
				c->todo = 0;
			}
			if (c->todo == 0 || r < 0) {
				conn_close(c);
				active--;
			}
		}
	}
	t1 = now_ns();
	for (long i = 0; i < C; i++)
		conn_close(&conns[i]);
	close(ep);
	out_begin();
	printf(" clients=%ld per_client=%d n=%ld ok=%ld rate=%.1f p50_us=%.1f "
	    "p99_us=%.1f refused=%ld", C, O.per_client, total, ok,
	    (double)ok * 1e9 / (double)(t1 - t0), pct_us(lat, (size_t)ok, 50),
	    pct_us(lat, (size_t)ok, 99), fc);
	out_end(bad + fa, total - ok - bad);
	free(lat);
	free(conns);
	return 0;
}

/* ---- events ------------------------------------------------------------- */

static int
mode_events(void)
{
	long S = O.subs, n = O.n;
	conn_t *subs = xcalloc((size_t)S, sizeof(*subs));
	conn_t trig;
	struct pollfd *pfd = xcalloc((size_t)S + 1, sizeof(*pfd));
	uint64_t *sent_at = xcalloc((size_t)n, sizeof(*sent_at));
	uint64_t *lat = xcalloc((size_t)(n * S), sizeof(*lat));
	char *batch = xmalloc((size_t)O.batch * 256), *expect = xmalloc(512);
	long ok = 0, errors = 0, dropped = 0, sent = 0, acked = 0, nlat = 0;
	long trig_errors = 0;
	uint64_t t0, t_acked = 0, t_last = 0;
	char runid[32];
	auth_t tauth = O.auth == AUTH_NULL ? AUTH_SAFECOOKIE : O.auth;
	const char *sub = O.conf_changed ? "SETEVENTS CONF_CHANGED\r\n" :
	    "SETEVENTS ADDRMAP\r\n";
	int r;

	if (!O.have_trigger)
		die("events needs --trigger ADDR (tor's control port)");
	if (!O.have_cookie)
		die("events needs --cookie FILE for the trigger connection");
	snprintf(runid, sizeof(runid), "b%ld%ld", (long)getpid(),
	    (long)(now_ns() / 1000000 % 100000));
	for (long i = 0; i < S; i++) {
		const char *m;
		size_t mlen;
		if ((r = open_authed(&subs[i], &O.target, O.auth)) < 0 ||
		    write_all(subs[i].fd, sub, strlen(sub)) < 0 ||
		    conn_read_reply(&subs[i], &m, &mlen) != 1 || mlen != 8 ||
		    memcmp(m, "250 OK\r\n", 8) != 0) {
			fprintf(stderr, "loadgen: events: subscriber %ld could "
			    "not subscribe (%d)\n", i, r);
			out_begin();
			printf(" n=%ld subs=%ld ok=0 rate=0", n, S);
			out_end(1, 0);
			return 1;
		}
		set_nonblock(subs[i].fd, true);
		pfd[i].fd = subs[i].fd;
		pfd[i].events = POLLIN;
	}
	if ((r = open_authed(&trig, &O.trigger, tauth)) < 0) {
		fprintf(stderr, "loadgen: events: trigger: cannot open (%d)\n", r);
		return 1;
	}
	set_nonblock(trig.fd, true);
	pfd[S].fd = trig.fd;
	pfd[S].events = POLLIN;

	t0 = now_ns();
	for (;;) {
		bool all = true;
		int k;
		if (acked == sent && sent < n) {
			long b = n - sent < O.batch ? n - sent : O.batch;
			size_t len = 0;
			uint64_t t = now_ns();
			for (long i = 0; i < b; i++) {
				if (O.conf_changed)
					len += (size_t)sprintf(batch + len,
					    "SETCONF %s=%sx%ld\r\n", O.conf_key,
					    runid, sent + i);
				else
					len += (size_t)sprintf(batch + len,
					    "MAPADDRESS bench.example=%sx%ld."
					    "example\r\n", runid, sent + i);
				sent_at[sent + i] = t;
			}
			if (write_all(trig.fd, batch, len) < 0) {
				trig_errors++;
				break;
			}
			sent += b;
		}
		for (long i = 0; i < S; i++)
			if (subs[i].open && subs[i].next_seq < sent)
				all = false;
		if (all && sent == n && acked == n)
			break;
		k = poll(pfd, (nfds_t)S + 1, O.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;          /* stalled: the rest count as dropped */
		if (pfd[S].revents) {
			const char *m;
			size_t mlen;
			bool ev;
			ssize_t rd = conn_fill(&trig);
			if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
				trig_errors++;
				break;
			}
			while ((r = conn_next(&trig, &m, &mlen, &ev)) == 1) {
				int el;
				if (ev)
					continue;
				if (O.conf_changed)
					el = snprintf(expect, 512, "250 OK\r\n");
				else
					el = snprintf(expect, 512, "250 bench.example="
					    "%sx%ld.example\r\n", runid, acked);
				if ((size_t)el != mlen || memcmp(m, expect, mlen)) {
					report_unexpected("trigger", m, mlen);
					trig_errors++;
				}
				if (++acked == n)
					t_acked = now_ns();
			}
			if (r < 0) {
				trig_errors++;
				break;
			}
		}
		for (long i = 0; i < S; i++) {
			conn_t *c = &subs[i];
			const char *m;
			size_t mlen;
			bool ev;
			ssize_t rd;
			if (!c->open || !pfd[i].revents)
				continue;
			rd = conn_fill(c);
			if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
				conn_close(c);
				pfd[i].fd = -1;
				continue;
			}
			while ((r = conn_next(c, &m, &mlen, &ev)) == 1) {
				uint64_t t = now_ns();
				int el;
				if (!ev) {
					report_unexpected("subscriber", m, mlen);
					errors++;
					continue;
				}
				if (O.conf_changed)
					el = snprintf(expect, 512,
					    "650-CONF_CHANGED\r\n650-%s=%sx%ld\r\n"
					    "650 OK\r\n", O.conf_key, runid,
					    c->next_seq);
				else
					el = snprintf(expect, 512, "650 ADDRMAP "
					    "bench.example %sx%ld.example NEVER "
					    "CACHED=\"YES\"\r\n", runid,
					    c->next_seq);
				if (c->next_seq < n && (size_t)el == mlen &&
				    !memcmp(m, expect, mlen)) {
					ok++;
					lat[nlat++] = t - sent_at[c->next_seq];
				} else {
					report_unexpected("event", m, mlen);
					errors++;
				}
				c->next_seq++;
				t_last = t;
			}
			if (r < 0) {
				errors++;
				conn_close(c);
				pfd[i].fd = -1;
			}
		}
	}
	for (long i = 0; i < S; i++) {
		if (subs[i].next_seq < n)
			dropped += n - subs[i].next_seq;
		conn_close(&subs[i]);
	}
	conn_close(&trig);
	if (t_last == 0)
		t_last = now_ns();
	out_begin();
	printf(" n=%ld subs=%ld ok=%ld rate=%.1f trigger_rate=%.1f "
	    "lag_p50_us=%.1f lag_p99_us=%.1f trigger_errors=%ld", n, S, ok,
	    (double)ok * 1e9 / (double)(t_last - t0),
	    t_acked ? (double)n * 1e9 / (double)(t_acked - t0) : 0.0,
	    pct_us(lat, (size_t)nlat, 50), pct_us(lat, (size_t)nlat, 99),
	    trig_errors);
	out_end(errors, dropped);
	free(batch);
	free(expect);
	free(lat);
	free(sent_at);
	free(pfd);
	free(subs);
	return 0;
}

/* ---- idle --------------------------------------------------------------- */

/* The pid and, with --tree, its descendants. */
static size_t
proc_tree(pid_t root, pid_t *out, size_t max)
{
	size_t n = 0;
	DIR *d;
	struct dirent *e;
	bool grew = true;

	out[n++] = root;
	if (!O.tree)
		return n;
	/* Repeat until no new child is found (a parent may be listed after
	 * its children). */
	while (grew) {
		grew = false;
		if ((d = opendir("/proc")) == NULL)
			return n;
		while ((e = readdir(d)) != NULL && n < max) {
			char path[64], buf[512], *rp;
			long pid = strtol(e->d_name, NULL, 10), ppid;
			FILE *f;
			bool have = false;
			if (pid <= 0)
				continue;
			for (size_t i = 0; i < n; i++)
				if (out[i] == (pid_t)pid)
					have = true;
			if (have)
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			if (fgets(buf, sizeof(buf), f) != NULL &&
			    (rp = strrchr(buf, ')')) != NULL &&
			    sscanf(rp + 2, "%*c %ld", &ppid) == 1) {
				for (size_t i = 0; i < n; i++)
					if (out[i] == (pid_t)ppid) {
						out[n++] = (pid_t)pid;
						grew = true;
						break;
					}
			}
			fclose(f);
		}
		closedir(d);
	}
	return n;
}

/* Memory in kB: VmRSS of the pid, or with --tree the sum of Pss over the
 * process tree (children share most pages with their parent). */
static long
mem_kb(void)
{
	static pid_t pids[40000];
	size_t n = proc_tree(O.pid, pids, 40000);
	long total = 0;

	for (size_t i = 0; i < n; i++) {
		char path[64], line[256];
		FILE *f;
		snprintf(path, sizeof(path), O.tree ? "/proc/%ld/smaps_rollup" :
		    "/proc/%ld/status", (long)pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			long v;
			if ((O.tree && sscanf(line, "Pss: %ld", &v) == 1) ||
			    (!O.tree && sscanf(line, "VmRSS: %ld", &v) == 1)) {
				total += v;
				break;
			}
		}
		fclose(f);
	}
	return total;
}

/* utime + stime in clock ticks (over the tree with --tree). */
static long
cpu_ticks(void)
{
	static pid_t pids[40000];
	size_t n = proc_tree(O.pid, pids, 40000);
	long total = 0;

	for (size_t i = 0; i < n; i++) {
		char path[64], buf[1024], *rp;
		unsigned long ut, st;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu", &ut, &st) == 2)
			total += (long)(ut + st);
		fclose(f);
	}
	return total;
}

static int
mode_idle(void)
{
	long C = O.clients, fc, fa, fx, fs, opened, ok = 0, errors = 0;
	long dropped = 0;
	long waiting = 0, unexpected = 0;
	conn_t *conns = xcalloc((size_t)C, sizeof(*conns));
	uint64_t *lat = xcalloc((size_t)C, sizeof(*lat));
	struct epoll_event evs[256];
	long mem0, mem1, mem2, cpu0, cpu1, hz = sysconf(_SC_CLK_TCK);
	uint64_t ta, tb, t0, t_last = 0;
	int ep;

	if (O.pid <= 0)
		die("idle needs --pid PID (the process behind --target)");
	for (long i = 0; i < C; i++)
		conn_init(&conns[i]);
	mem0 = mem_kb();
	ta = now_ns();
	opened = open_many(conns, C, O.window, &O.target, O.auth, &fc, &fa, &fx,
	    &fs);
	tb = now_ns();
	errors += fa;
	dropped += fc + fx;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die_errno("epoll_create1");
	for (long i = 0; i < C; i++)
		if (conns[i].open)
			ep_add(ep, &conns[i], EPOLLIN | EPOLLRDHUP);
	sleep_ms(500);
	mem1 = mem_kb();

	/* Idle: nothing must arrive, nothing may close. */
	cpu0 = cpu_ticks();
	{
		uint64_t end = now_ns() + (uint64_t)(O.idle_secs * 1e9);
		uint64_t t;
		while ((t = now_ns()) < end) {
			int k = epoll_wait(ep, evs, 256,
			    (int)((end - t) / 1000000) + 1);
			for (int i = 0; i < k; i++) {
				conn_t *c = evs[i].data.ptr;
				ssize_t rd = conn_fill(c);
				if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
					dropped++;
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					conn_close(c);
				} else {
					unexpected++;
				}
			}
		}
	}
	cpu1 = cpu_ticks();

	/* Wake everyone at once. */
	t0 = now_ns();
	for (long i = 0; i < C; i++) {
		if (!conns[i].open)
			continue;
		if (write_all(conns[i].fd, O.cmd, O.cmd_len) < 0) {
			dropped++;
			epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, NULL);
			conn_close(&conns[i]);
			continue;
		}
		waiting++;
	}
	while (waiting > 0) {
		int k = epoll_wait(ep, evs, 256, O.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (int i = 0; i < k; i++) {
			conn_t *c = evs[i].data.ptr;
			const char *m;
			size_t n;
			bool ev;
			ssize_t rd;
			int r;
			if (!c->open)
				continue;
			rd = conn_fill(c);
			if (rd == 0 || (rd < 0 && errno != EAGAIN)) {
				if (c->todo == 0) {
					dropped++;
					waiting--;
				}
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				conn_close(c);
				continue;
			}
			while ((r = conn_next(c, &m, &n, &ev)) == 1) {
				uint64_t t = now_ns();
				if (ev) {
					events_skipped++;
					continue;
				}
				if (c->todo != 0) {
					errors++;   /* a second reply */
					continue;
				}
				c->todo = 1;
				waiting--;
				if (reply_ok(m, n)) {
					lat[ok++] = t - t0;
				} else {
					report_unexpected("idle wake", m, n);
					errors++;
				}
				t_last = t;
			}
			if (r < 0)
				errors++;
		}
	}
	dropped += waiting;
	for (long i = 0; i < C; i++)
		conn_close(&conns[i]);
	close(ep);
	sleep_ms(300);
	mem2 = mem_kb();
	out_begin();
	printf(" clients=%ld held=%ld open_s=%.3f mem=%s mem_before_kb=%ld "
	    "mem_held_kb=%ld mem_after_close_kb=%ld per_client_b=%.0f "
	    "idle_s=%.1f idle_cpu_ticks=%ld idle_cpu_pct=%.2f "
	    "unexpected_data=%ld wake_ms=%.2f wake_p50_ms=%.2f wake_p99_ms=%.2f "
	    "ok=%ld refused=%ld not_tried=%ld",
	    C, opened, (double)(tb - ta) / 1e9, O.tree ? "pss-tree" : "vmrss",
	    mem0, mem1, mem2,
	    opened ? (double)(mem1 - mem0) * 1024.0 / (double)opened : 0.0,
	    O.idle_secs, cpu1 - cpu0,
	    (double)(cpu1 - cpu0) * 100.0 / (double)hz / O.idle_secs,
	    unexpected, t_last ? (double)(t_last - t0) / 1e6 : 0.0,
	    pct_us(lat, (size_t)ok, 50) / 1000.0,
	    pct_us(lat, (size_t)ok, 99) / 1000.0, ok, fc, fs);
	out_end(errors + unexpected, dropped);
	free(lat);
	free(conns);
	return 0;
}

/*
 * Run a program the way systemd's MemoryDenyWriteExecute=yes does (as in
 * torgate's unit): no memory may become both writable and executable, so
 * PCRE2 cannot JIT-compile and falls back to its interpreter. Linux 6.3+.
 */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

static int
mode_exec_mdwe(char **cmd)
{
	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) < 0)
		die_errno("prctl(PR_SET_MDWE)");
	execvp(cmd[0], cmd);
	die_errno(cmd[0]);
	return 2;
}

/* Print a loopback TCP port that was free a moment ago. */
static int
mode_freeport(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die_errno("freeport");
	printf("%u\n", (unsigned)ntohs(a.sin_port));
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (argc == 2 && !strcmp(argv[1], "freeport"))
		return mode_freeport();
	if (argc >= 3 && !strcmp(argv[1], "exec-mdwe"))
		return mode_exec_mdwe(argv + 2);
	parse_args(argc, argv);
	if (!strcmp(O.mode, "probe"))
		return mode_probe();
	if (!strcmp(O.mode, "connect"))
		return mode_connect();
	if (!strcmp(O.mode, "rtt"))
		return mode_rtt();
	if (!strcmp(O.mode, "pipeline"))
		return mode_pipeline();
	if (!strcmp(O.mode, "concurrent"))
		return mode_concurrent();
	if (!strcmp(O.mode, "events"))
		return mode_events();
	if (!strcmp(O.mode, "idle"))
		return mode_idle();
	usage();
	return 2;
}
