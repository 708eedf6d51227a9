/*
 * test_profile.c: unit tests for profile.c (loading onion-grater profiles).
 *
 * Most cases are rows of tables: OK rows must load with neither errors
 * nor warnings, ERR rows must fail with an error at LINE:COL whose message
 * holds a substring, WARN rows must load but warn at LINE:COL. Each row is
 * its own check loop test, so a failure names the row. Further tests
 * check what was loaded, the directory loader (in temporary directories)
 * and the real profiles Tails and Whonix ship, found through TOP_SRCDIR.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "profile.h"
#include "util.h"

/* The Tails and Whonix profiles live outside the project, beside it. The
 * environment variable TORGATE_COMPAT_PROFILES overrides where (to test
 * another copy, or a missing one). Without them this test exits 77, which
 * meson reports as SKIP, after running everything else; with CI=true in
 * the environment their absence is a failure instead. */
#define COMPAT_DIR_DEFAULT TOP_SRCDIR "/../shared/compat-profiles"
#define COMPAT_DIR compat_dir()
#define EXIT_SKIP 77

static const char *
compat_dir(void)
{
	const char *d = getenv("TORGATE_COMPAT_PROFILES");

	return d != NULL && d[0] != '\0' ? d : COMPAT_DIR_DEFAULT;
}

/* Every diagnostic of one load. */
struct diag_rec {
	bool is_error;
	char *file;
	unsigned line, col;
	char *msg;
};

struct collector {
	struct diag_rec v[128];
	size_t n;
	profile_diag_t d;
};

static void
collect(void *arg, bool is_error, const char *file, unsigned line,
    unsigned col, const char *msg)
{
	struct collector *c = arg;

	ck_assert_ptr_nonnull(msg);
	if (c->n == ARRAY_LEN(c->v))
		return;
	c->v[c->n].is_error = is_error;
	c->v[c->n].file = xstrdup(file != NULL ? file : "");
	c->v[c->n].line = line;
	c->v[c->n].col = col;
	c->v[c->n].msg = xstrdup(msg);
	c->n++;
}

static void
collector_init(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	c->d.report = collect;
	c->d.arg = c;
}

static void
collector_free(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].file);
		free(c->v[i].msg);
	}
	c->n = 0;
	c->d.errors = 0;
	c->d.warnings = 0;
}

/* Print everything collected, to explain a failure. */
static void
collector_dump(const struct collector *c)
{
	for (size_t i = 0; i < c->n; i++)
		fprintf(stderr, "  %s:%u:%u: %s: %s\n", c->v[i].file,
		    c->v[i].line, c->v[i].col,
		    c->v[i].is_error ? "error" : "warning", c->v[i].msg);
}

/* Find a diagnostic of the given kind at "LINE:COL" whose message holds
 * sub; file, when not NULL, must be a substring of its file. */
static const struct diag_rec *
find_diag(const struct collector *c, bool is_error, const char *where,
    const char *sub, const char *file)
{
	for (size_t i = 0; i < c->n; i++) {
		char pos[32];
		snprintf(pos, sizeof(pos), "%u:%u", c->v[i].line, c->v[i].col);
		if (c->v[i].is_error == is_error && strcmp(pos, where) == 0 &&
		    strstr(c->v[i].msg, sub) != NULL &&
		    (file == NULL || strstr(c->v[i].file, file) != NULL))
			return &c->v[i];
	}
	return NULL;
}

static profile_set_t *
load_str(struct collector *c, const char *name, const char *yaml,
    size_t len)
{
	return profile_set_load_buffer(name, yaml, len, &c->d);
}

static profile_set_t *
load(struct collector *c, const char *yaml)
{
	return load_str(c, "test.yml", yaml, strlen(yaml));
}

/*
 * Valid snippets: no error, no warning, and the number of profiles.
 */
struct ok_case {
	const char *yaml;
	size_t nprofiles;
};

static const struct ok_case ok_cases[] = {
	{ "- {}\n", 1 },
	{ "---\n- name: a\n...\n", 1 },
	{ "# comment only before\n- name: a\n- name: b\n", 2 },
	{ "[{name: a}, {name: b}, {name: c}]", 3 },
	{ "- hosts: ['*']\n  users: []\n  apparmor-profiles: [/usr/bin/x]\n",
	  1 },
	{ "- exe-paths: ['*']\n  apparmor-profiles: ['/bin/a']\n", 1 },
	{ "- commands:\n    GETINFO:\n      - version\n      - ''\n", 1 },
	{ "- commands:\n    GETINFO:\n", 1 },
	{ "- commands:\n    GETINFO: ~\n    SIGNAL: null\n    GETCONF: Null\n"
	  "    MAPADDRESS: NULL\n", 1 },
	{ "- commands: ~\n  confs: ~\n  events: ~\n", 1 },
	{ "- commands:\n    getinfo: ['version']\n    +loadconf: ['x']\n", 1 },
	{ "- commands:\n    ADD_ONION:\n      - pattern: 'NEW:([A-Z0-9-]+) Port=1,1'\n"
	  "        replacement: 'NEW:{} Port=1,{client-address}:1'\n"
	  "        response:\n          - pattern: '250-PrivateKey=(\\w+):.+'\n"
	  "            replacement: '250-PrivateKey={}:redacted'\n", 1 },
	{ "- commands:\n    GETINFO:\n      - pattern: '(?P<k>a)'\n"
	  "        replacement: '{k}'\n", 1 },
	{ "- confs:\n    Bridge:\n    UseBridges: ['', '0', '1']\n", 1 },
	{ "- events:\n    STREAM:\n    circ: {}\n"
	  "    HS_DESC:\n      suppress: false\n      response: []\n", 1 },
	{ "- events:\n    SIGNAL: {suppress: yes}\n    BW: {suppress: ~}\n", 1 },
	{ "- restrict-stream-events: true\n  tor-browser-mode: false\n"
	  "  del-onion-any: off\n", 1 },
	{ "- restrict-onion-events: true\n- restrict-onion-events: False\n"
	  "- restrict-onion-events:\n", 3 },
	{ "- name: \"quoted \\u0041\"\n", 1 },
	{ "- users: ['1000', \"yes\", 'null', '1.5', '2024-01-01', 10.200.1.2,"
	  " 1.2.3, 09, 1e5, oN, nULL, 0x]\n", 1 },
	{ "- users: !!seq [a]\n  hosts: !!seq\n    - b\n", 1 },
	{ "- &p {name: a}\n- {name: b, users: &u [x]}\n- {name: c, users: *u}\n",
	  3 },
	{ "- commands:\n    GETINFO: &r ['a', 'b']\n    GETCONF: *r\n", 1 },
	{ "\xef\xbb\xbf- name: bom\n", 1 },
	{ "- name: a\n\n\n", 1 },
};

START_TEST(test_ok_table)
{
	const struct ok_case *t = &ok_cases[_i];
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	s = load(&c, t->yaml);
	if (s == NULL || c.n != 0)
		collector_dump(&c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(c.d.warnings, 0);
	ck_assert_uint_eq(s->n, t->nprofiles);
	ck_assert_uint_eq(s->refcnt, 1);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/*
 * Errors: the load fails, with an error at LINE:COL holding a substring.
 */
struct err_case {
	const char *yaml;
	const char *where;
	const char *msg;
};

#define ERR(y, w, m) { y, w, m }

static const struct err_case err_cases[] = {
	/* top level */
	ERR("name: a\n", "1:1", "expected a sequence of profiles"),
	ERR("hello\n", "1:1", "expected a sequence of profiles, got a string"),
	ERR("- {}\n---\n- {}\n", "2:1", "more than one YAML document"),
	ERR("- 'x'\n", "1:3", "profile: expected a mapping, got a string"),
	ERR("- {}\n- ~\n", "2:3", "profile: expected a mapping, got null"),
	ERR("- [a]\n", "1:3", "profile: expected a mapping, got a sequence"),
	/* YAML syntax, as libyaml reports it */
	ERR("- hosts: [a\n", "2:1", "did not find expected ',' or ']'"),
	ERR("- a: b: c\n", "1:7", "mapping values are not allowed"),
	ERR("- a: b\n c: d\n", "2:2", "did not find expected '-' indicator"),
	ERR("- users: *nope\n", "1:10", "found undefined alias"),
	ERR("- name: \"\\q\"\n", "1:10", "found unknown escape character"),
	ERR("- name: a\xff\n", "1:10", "invalid leading UTF-8 octet"),
	ERR("- name: a\x01\n", "1:10", "control characters are not allowed"),
	ERR("- name: 'a\n", "2:1", "found unexpected end of stream"),
	/* keys of a profile */
	ERR("- foo: 1\n", "1:3", "unknown key 'foo'"),
	ERR("- name: a\n  Hosts: []\n", "2:3", "unknown key 'Hosts'"),
	ERR("- hosts: []\n  hosts: []\n", "2:3", "duplicate key 'hosts'"),
	ERR("- 1: a\n", "1:3", "expected a string, got an integer"),
	ERR("- [a]: b\n", "1:3", "expected a string, got a sequence"),
	ERR("- <<: {name: a}\n", "1:3", "merge keys"),
	/* name */
	ERR("- name: [a]\n", "1:9", "name: expected a string, got a sequence"),
	ERR("- name: 12\n", "1:9", "expected a string, got an integer"),
	ERR("- name: ''\n", "1:9", "printable ASCII"),
	ERR("- name: \"a\\tb\"\n", "1:9", "printable ASCII"),
	ERR("- name: a\n- name: a\n", "2:3", "duplicate profile name 'a'"),
	ERR("- {}\n- {}\n- name: test-2\n", "3:3",
	    "duplicate profile name 'test-2'"),
	/* qualifier lists */
	ERR("- hosts: '*'\n", "1:10",
	    "hosts: expected a sequence of strings, got a string"),
	ERR("- hosts:\n", "1:9", "expected a sequence of strings, got null"),
	ERR("- users: [1000]\n", "1:11", "expected a string, got an integer"),
	ERR("- users: [yes]\n", "1:11", "expected a string, got a boolean"),
	ERR("- users: [~]\n", "1:11", "expected a string, got null"),
	ERR("- users: [1.5]\n", "1:11", "expected a string, got a number"),
	ERR("- users: [2024-01-01]\n", "1:11", "expected a string, got a date"),
	ERR("- users: [[a]]\n", "1:11", "expected a string, got a sequence"),
	ERR("- exe-paths: {a: b}\n", "1:14",
	    "exe-paths: expected a sequence of strings, got a mapping"),
	ERR("- apparmor-profiles: [\"a\\0b\"]\n", "1:23", "NUL byte"),
	ERR("- users: !!binary aGVsbG8=\n", "1:10", "unsupported type"),
	ERR("- users: [!foo a]\n", "1:11", "unsupported type"),
	ERR("- users: [=]\n", "1:11", "unsupported type"),
	/* booleans */
	ERR("- restrict-stream-events: 'yes'\n", "1:27",
	    "expected a boolean (true or false), got a string"),
	ERR("- tor-browser-mode: 1\n", "1:21", "expected a boolean"),
	ERR("- del-onion-any: tRUE\n", "1:18", "expected a boolean"),
	ERR("- del-onion-any: [true]\n", "1:18", "got a sequence"),
	ERR("- del-onion-any: !!bool maybe\n", "1:18", "malformed boolean"),
	ERR("- restrict-onion-events: 'true'\n", "1:26",
	    "restrict-onion-events: expected a boolean"),
	ERR("- restrict-onion-events: [true]\n", "1:26", "got a sequence"),
	ERR("- restrict-onion-events: yes\n  restrict-onion-events: no\n",
	    "2:3", "duplicate key 'restrict-onion-events'"),
	/* commands */
	ERR("- commands: [GETINFO]\n", "1:13",
	    "commands: expected a mapping of command keywords"),
	ERR("- commands:\n    GETINFO: version\n", "2:14",
	    "expected a sequence of rules or null, got a string"),
	ERR("- commands:\n    42: ['a']\n", "2:5",
	    "command keyword: expected a string, got an integer"),
	ERR("- commands:\n    GETINFO: [[a]]\n", "2:15",
	    "command rule: expected a pattern string or a mapping, got a seq"),
	ERR("- commands:\n    GETINFO: [7]\n", "2:15",
	    "expected a pattern string or a mapping, got an integer"),
	ERR("- commands:\n    GETINFO:\n      - replacement: x\n", "3:9",
	    "command rule: missing key 'pattern'"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n        foo: b\n",
	    "4:9", "unknown key 'foo' in command rule"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n        pattern: b\n",
	    "4:9", "duplicate key 'pattern' (first at 3:9)"),
	ERR("- commands:\n    GETINFO:\n      - pattern: ~\n", "3:18",
	    "pattern: expected a string, got null"),
	ERR("- commands:\n    GETINFO:\n      - 'a('\n", "3:9",
	    "missing closing parenthesis at offset 2"),
	ERR("- commands:\n    GETINFO:\n      - pattern: '[z-a]'\n", "3:18",
	    "range out of order in character class at offset 3"),
	ERR("- commands:\n    GETINFO:\n      - 'a{2,1}'\n", "3:9",
	    "numbers out of order in {} quantifier at offset"),
	ERR("- commands:\n    GETINFO:\n      - pattern: '(a)'\n"
	    "        replacement: '{1}'\n", "4:22",
	    "replacement '{1}': template refers to group {1}, but the pattern "
	    "has only 1 group at offset 0"),
	ERR("- commands:\n    GETINFO:\n      - pattern: 'a'\n"
	    "        replacement: 'x{'\n", "4:22", "at offset 1"),
	ERR("- commands:\n    GETINFO:\n      - pattern: 'a'\n"
	    "        replacement: '{nope}'\n", "4:22", "unknown name {nope}"),
	ERR("- commands:\n    GETINFO:\n      - pattern: 'a'\n"
	    "        replacement: ~\n", "4:22",
	    "replacement: expected a string, got null"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response: {pattern: a, replacement: b}\n", "4:19",
	    "response: expected a sequence of {pattern, replacement}"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response: [a]\n", "4:20",
	    "response: expected a {pattern, replacement} mapping, got a str"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response:\n          - pattern: b\n", "5:13",
	    "response: missing key 'replacement'"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response:\n          - replacement: b\n", "5:13",
	    "response: missing key 'pattern'"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response:\n          - {pattern: b, replacement: c, x: d}\n",
	    "5:42", "unknown key 'x' in response"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response:\n          - {pattern: '250-(a)', "
	    "replacement: '{0}{1}'}\n", "5:47",
	    "template refers to group {1}"),
	ERR("- commands:\n    GETINFO:\n      - pattern: a\n"
	    "        response:\n          - {pattern: '250-(a', "
	    "replacement: 'x'}\n", "5:23", "missing closing parenthesis"),
	ERR("- commands:\n    GETINFO: []\n    getinfo: []\n", "3:5",
	    "duplicate command 'getinfo' (first at 2:5)"),
	ERR("- commands:\n    LOADCONF: []\n    +LOADCONF: []\n", "3:5",
	    "duplicate command '+LOADCONF'"),
	/* errors in ignored rules are still errors */
	ERR("- commands:\n    FROBNICATE: ['a(']\n", "2:18",
	    "missing closing parenthesis"),
	ERR("- commands:\n    QUIT: ['a(']\n", "2:12",
	    "missing closing parenthesis"),
	/* confs */
	ERR("- confs: [a]\n", "1:10",
	    "confs: expected a mapping of configuration options"),
	ERR("- confs:\n    Bridge: a\n", "2:13",
	    "values of Bridge: expected a sequence of strings or null"),
	ERR("- confs:\n    Bridge: [1]\n", "2:14",
	    "configuration value: expected a string, got an integer"),
	ERR("- confs:\n    Bridge: ['a(']\n", "2:14",
	    "missing closing parenthesis at offset 2"),
	ERR("- confs:\n    'a b': ~\n", "2:5", "bad configuration option name"),
	ERR("- confs:\n    '': ~\n", "2:5", "bad configuration option name"),
	ERR("- confs:\n    Bridge:\n    BRIDGE:\n", "3:5",
	    "duplicate configuration option 'BRIDGE' (first at 2:5)"),
	/* events */
	ERR("- events: [CIRC]\n", "1:11", "events: expected a mapping"),
	ERR("- events:\n    CIRC: true\n", "2:11",
	    "options of event CIRC: expected a mapping or null, got a bool"),
	ERR("- events:\n    CIRC: {foo: 1}\n", "2:12",
	    "unknown key 'foo' in event options"),
	ERR("- events:\n    CIRC: {suppress: 'x'}\n", "2:22",
	    "suppress: expected a boolean"),
	ERR("- events:\n    CIRC: {response: {}}\n", "2:22",
	    "response: expected a sequence"),
	ERR("- events:\n    CIRC:\n      response:\n        - {pattern: '(',"
	    " replacement: ''}\n", "4:21", "missing closing parenthesis"),
	ERR("- events:\n    CIRC:\n    circ:\n", "3:5",
	    "duplicate event 'circ' (first at 2:5)"),
	ERR("- events:\n    'CIRC BW':\n", "2:5", "bad event name"),
	ERR("- events:\n    ~: {}\n", "2:5", "event name: expected a string"),
};

START_TEST(test_err_table)
{
	const struct err_case *t = &err_cases[_i];
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	s = load(&c, t->yaml);
	if (s != NULL || find_diag(&c, true, t->where, t->msg, NULL) == NULL) {
		fprintf(stderr, "row %d: expected error at %s: %s; got:\n",
		    _i, t->where, t->msg);
		collector_dump(&c);
	}
	ck_assert_ptr_null(s);
	ck_assert_uint_ge(c.d.errors, 1);
	ck_assert_ptr_nonnull(find_diag(&c, true, t->where, t->msg, NULL));
	ck_assert_ptr_nonnull(find_diag(&c, true, t->where, t->msg,
	    "test.yml"));
	collector_free(&c);
}
END_TEST

/*
 * Warnings: the load succeeds, with a warning at LINE:COL.
 */
#define WARN(y, w, m) { y, w, m }

static const struct err_case warn_cases[] = {
	WARN("", "0:0", "no profiles"),
	WARN("- commands:\n    SETEVENTS: ['CIRC']\n", "2:5",
	    "SETEVENTS rules are not used"),
	WARN("# nothing but a comment\n", "0:0", "no profiles"),
	WARN("---\n", "0:0", "no profiles"),
	WARN("[]\n", "0:0", "no profiles"),
	WARN("- commands:\n    FROBNICATE: ['x']\n", "2:5",
	    "unknown command 'FROBNICATE'; its rules can never match"),
	WARN("- commands:\n    AUTHCHALLENGE: ['SAFECOOKIE \\S+']\n", "2:5",
	    "AUTHCHALLENGE is answered by torgate itself; rule ignored"),
	WARN("- commands:\n    authenticate:\n", "2:5",
	    "AUTHENTICATE is answered by torgate itself; rule ignored"),
	WARN("- commands:\n    PROTOCOLINFO: ['1']\n", "2:5",
	    "PROTOCOLINFO is answered by torgate itself"),
	WARN("- commands:\n    QUIT: ['']\n", "2:5",
	    "QUIT is answered by torgate itself"),
	WARN("- commands:\n    TAKEOWNERSHIP: ['']\n", "2:5",
	    "TAKEOWNERSHIP is answered by torgate itself"),
	WARN("- commands:\n    DROPOWNERSHIP: ['']\n", "2:5",
	    "DROPOWNERSHIP is answered by torgate itself"),
	WARN("- commands:\n    ADD_ONION: ['.*']\n", "2:17",
	    "ADD_ONION rule '.*' accepts arbitrary text: any onion service key "
	    "and target"),
	WARN("- commands:\n    ADD_ONION:\n      - pattern: 'NEW:(\\S+) Port=.+'\n"
	    "        replacement: 'NEW:{} Port=1'\n", "3:9",
	    "ADD_ONION rule 'NEW:(\\S+) Port=.+' accepts arbitrary text"),
	WARN("- commands:\n    DEL_ONION: ['\\S+']\n", "2:17",
	    "DEL_ONION rule '\\S+' accepts arbitrary text: removing any onion "
	    "service"),
	WARN("- commands:\n    onion_client_auth_add: ['\\S+ x25519:\\S+']\n",
	    "2:29", "ONION_CLIENT_AUTH_ADD rule '\\S+ x25519:\\S+' accepts "
	    "arbitrary text: any client authorization key"),
	WARN("- commands:\n    SETCONF: ['.+']\n", "2:15",
	    "SETCONF rule '.+' accepts arbitrary text: any configuration "
	    "change"),
	WARN("- commands:\n    RESETCONF: ['.*']\n", "2:17", "RESETCONF rule"),
	WARN("- commands:\n    +LOADCONF: ['.*']\n", "2:17", "LOADCONF rule"),
	WARN("- commands:\n    HSFETCH: ['\\S+']\n", "2:15", "HSFETCH rule"),
	WARN("- commands:\n    HSPOST: ['.*']\n", "2:14", "HSPOST rule"),
	WARN("- commands:\n    POSTDESCRIPTOR: ['.*']\n", "2:22",
	    "POSTDESCRIPTOR rule"),
	WARN("- commands:\n    MAPADDRESS: ['.*']\n", "2:18",
	    "MAPADDRESS rule"),
	WARN("- commands:\n    REDIRECTSTREAM: ['.*']\n", "2:22",
	    "REDIRECTSTREAM rule"),
	WARN("- commands:\n    ATTACHSTREAM: ['\\d+ .*']\n", "2:20",
	    "ATTACHSTREAM rule"),
	WARN("- events:\n    FOO:\n", "2:5",
	    "unknown event 'FOO'; tor has no such event"),
	WARN("- events:\n    circ_minor:\n    frob:\n", "3:5",
	    "unknown event 'FROB'"),
};

START_TEST(test_warn_table)
{
	const struct err_case *t = &warn_cases[_i];
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	s = load(&c, t->yaml);
	if (s == NULL || find_diag(&c, false, t->where, t->msg, NULL) == NULL) {
		fprintf(stderr, "row %d: expected warning at %s: %s; got:\n",
		    _i, t->where, t->msg);
		collector_dump(&c);
	}
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(c.d.warnings, 1);
	ck_assert_ptr_nonnull(find_diag(&c, false, t->where, t->msg, NULL));
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Rules of commands that the warnings above do not concern stay quiet. */
START_TEST(test_wildcard_only_where_dangerous)
{
	struct collector c;
	profile_set_t *s;
	const profile_t *p;

	collector_init(&c);
	s = load(&c, "- commands:\n    GETINFO: ['.*', '\\S+']\n"
	    "    USEFEATURE: ['.*']\n    ADD_ONION: ['NEW:BEST Port=80,1']\n");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.warnings, 0);
	p = profile_set_find(s, "test");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->cmds[CMD_GETINFO].n, 2);
	ck_assert_uint_eq(p->cmds[CMD_USEFEATURE].n, 1);
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].n, 1);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Ignored keywords are not stored, and do not hide the others. */
START_TEST(test_ignored_commands_not_stored)
{
	struct collector c;
	profile_set_t *s;
	const profile_t *p;

	collector_init(&c);
	s = load(&c, "- commands:\n    AUTHCHALLENGE: ['SAFECOOKIE \\S+']\n"
	    "    FROB: ['x']\n    GETINFO: ['version']\n");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.warnings, 2);
	p = profile_set_find(s, "test");
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < CMD_COUNT; i++)
		ck_assert_uint_eq(p->cmds[i].n, i == CMD_GETINFO ? 1 : 0);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Everything a profile can hold ends up where profile.h says. */
START_TEST(test_structure)
{
	static const char yaml[] =
	    "- name: full\n"                                      /* 1 */
	    "  apparmor-profiles: ['/usr/bin/a']\n"
	    "  exe-paths: ['/usr/bin/b', '*']\n"
	    "  users: [amnesia]\n"
	    "  hosts: ['10.0.0.1', '10.0.0.2']\n"                 /* 5 */
	    "  commands:\n"
	    "    GETINFO:\n"
	    "      - 'version'\n"
	    "      - pattern: 'status/(\\S+)'\n"
	    "        replacement: 'status/{}'\n"                  /* 10 */
	    "        response:\n"
	    "          - pattern: '250-(\\S+)=.*'\n"
	    "            replacement: '250-{}=x'\n"
	    "          - {pattern: '.*', replacement: ''}\n"
	    "    SIGNAL: ['NEWNYM']\n"                            /* 15 */
	    "    GETCONF:\n"
	    "  confs:\n"
	    "    __OwningControllerProcess:\n"
	    "    UseBridges: ['', '[01]']\n"
	    "  events:\n"                                         /* 20 */
	    "    stream:\n"
	    "    HS_DESC:\n"
	    "      suppress: yes\n"
	    "      response:\n"
	    "        - pattern: '650 HS_DESC (\\S+) .*'\n"        /* 25 */
	    "          replacement: '650 HS_DESC {}'\n"
	    "  tor-browser-mode: True\n"
	    "  del-onion-any: ON\n";
	struct collector c;
	profile_set_t *s;
	const profile_t *p;
	const cmd_rules_t *gi;
	const conf_rule_t *cf;
	const event_rule_t *ev;
	regex_match_t m;
	char *out;
	size_t len;

	collector_init(&c);
	s = load(&c, yaml);
	if (s == NULL || c.n != 0)
		collector_dump(&c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.warnings, 0);
	ck_assert_uint_eq(s->n, 1);
	ck_assert_uint_eq(s->n_files, 1);
	ck_assert_str_eq(s->files[0], "test.yml");
	p = s->v[0];
	ck_assert_str_eq(p->name, "full");
	ck_assert_ptr_eq(profile_set_find(s, "full"), p);
	ck_assert_ptr_null(profile_set_find(s, "Full"));
	ck_assert_ptr_null(profile_set_find(s, "test"));
	ck_assert_str_eq(p->loc.file, "test.yml");
	ck_assert_uint_eq(p->loc.line, 1);
	ck_assert_uint_eq(p->loc.col, 3);

	/* qualifiers: exe-paths merged after apparmor-profiles */
	ck_assert(p->has_apparmor_profiles && p->has_users && p->has_hosts);
	ck_assert_uint_eq(p->apparmor_profiles.n, 3);
	ck_assert_str_eq(p->apparmor_profiles.v[0], "/usr/bin/a");
	ck_assert_str_eq(p->apparmor_profiles.v[1], "/usr/bin/b");
	ck_assert_str_eq(p->apparmor_profiles.v[2], "*");
	ck_assert_uint_eq(p->users.n, 1);
	ck_assert_str_eq(p->users.v[0], "amnesia");
	ck_assert_uint_eq(p->hosts.n, 2);
	ck_assert_str_eq(p->hosts.v[1], "10.0.0.2");

	/* commands, in file order */
	gi = &p->cmds[CMD_GETINFO];
	ck_assert_uint_eq(gi->n, 2);
	ck_assert_str_eq(regex_source(gi->v[0].re), "version");
	ck_assert_ptr_null(gi->v[0].replacement);
	ck_assert_uint_eq(gi->v[0].response.n, 0);
	ck_assert_uint_eq(gi->v[0].loc.line, 8);
	ck_assert_uint_eq(gi->v[0].loc.col, 9);
	ck_assert_str_eq(regex_source(gi->v[1].re), "status/(\\S+)");
	ck_assert_uint_eq(gi->v[1].loc.line, 9);
	ck_assert_uint_eq(gi->v[1].loc.col, 9);
	ck_assert_ptr_nonnull(gi->v[1].replacement);
	ck_assert_str_eq(template_source(gi->v[1].replacement), "status/{}");
	ck_assert(regex_match(gi->v[1].re, "status/x", 8, &m));
	out = template_expand(gi->v[1].replacement, &m, NULL, &len);
	ck_assert_str_eq(out, "status/x");
	free(out);
	ck_assert_uint_eq(gi->v[1].response.n, 2);
	ck_assert_str_eq(regex_source(gi->v[1].response.v[0].re),
	    "250-(\\S+)=.*");
	ck_assert_str_eq(template_source(gi->v[1].response.v[0].replacement),
	    "250-{}=x");
	ck_assert_uint_eq(gi->v[1].response.v[0].loc.line, 12);
	ck_assert_uint_eq(gi->v[1].response.v[0].loc.col, 13);
	ck_assert_str_eq(template_source(gi->v[1].response.v[1].replacement),
	    "");
	ck_assert_uint_eq(p->cmds[CMD_SIGNAL].n, 1);
	ck_assert(regex_match(p->cmds[CMD_SIGNAL].v[0].re, "NEWNYM", 6, NULL));
	ck_assert(!regex_match(p->cmds[CMD_SIGNAL].v[0].re, "NEWNYMX", 7,
	    NULL));
	ck_assert_uint_eq(p->cmds[CMD_GETCONF].n, 0);
	ck_assert_uint_eq(p->cmds[CMD_SETCONF].n, 0);

	/* confs: keys as written, found in any case */
	ck_assert_uint_eq(p->n_confs, 2);
	ck_assert_str_eq(p->confs[0].key, "__OwningControllerProcess");
	ck_assert_uint_eq(p->confs[0].n_values, 0);
	ck_assert(!p->confs[0].resettable);
	ck_assert_uint_eq(p->confs[0].loc.line, 18);
	cf = profile_find_conf(p, "usebridgesXX", 10);
	ck_assert_ptr_eq(cf, &p->confs[1]);
	ck_assert(cf->resettable);
	ck_assert_uint_eq(cf->n_values, 1);
	ck_assert(regex_match(cf->values[0], "1", 1, NULL));
	ck_assert(!regex_match(cf->values[0], "10", 2, NULL));
	ck_assert_ptr_null(profile_find_conf(p, "UseBridge", 9));
	ck_assert_ptr_null(profile_find_conf(p, "UseBridgesX", 11));

	/* events: names upper case, found in any case */
	ck_assert_uint_eq(p->n_events, 2);
	ck_assert_str_eq(p->events[0].name, "STREAM");
	ck_assert(!p->events[0].suppress);
	ck_assert_uint_eq(p->events[0].response.n, 0);
	ev = profile_find_event(p, "hs_descXYZ", 7);
	ck_assert_ptr_eq(ev, &p->events[1]);
	ck_assert(ev->suppress);
	ck_assert_uint_eq(ev->loc.line, 22);
	ck_assert_uint_eq(ev->loc.col, 5);
	ck_assert_uint_eq(ev->response.n, 1);
	ck_assert_str_eq(template_source(ev->response.v[0].replacement),
	    "650 HS_DESC {}");
	ck_assert_ptr_eq(profile_find_event(p, "Stream", 6), &p->events[0]);
	ck_assert_ptr_null(profile_find_event(p, "HS_DES", 6));
	ck_assert_ptr_null(profile_find_event(p, "CIRC", 4));

	ck_assert(p->restrict_stream_events);
	ck_assert(p->del_onion_any);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* restrict-onion-events: read as a boolean, off unless it says true
 * (onion-grater's profiles do not have it). */
START_TEST(test_restrict_onion_events)
{
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	s = load(&c, "- name: a\n  restrict-onion-events: true\n"
	    "- name: b\n  restrict-onion-events: false\n"
	    "- name: c\n  restrict-stream-events: true\n");
	ck_assert_ptr_nonnull(s);
	ck_assert(s->v[0]->restrict_onion_events);
	ck_assert(!s->v[1]->restrict_onion_events);
	ck_assert(!s->v[2]->restrict_onion_events);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* A profile with no qualifier keys has none of the has_* flags. */
START_TEST(test_absent_keys)
{
	struct collector c;
	profile_set_t *s;
	const profile_t *p;

	collector_init(&c);
	s = load(&c, "- hosts: []\n");
	ck_assert_ptr_nonnull(s);
	p = s->v[0];
	ck_assert(p->has_hosts);
	ck_assert(!p->has_users && !p->has_apparmor_profiles);
	ck_assert_uint_eq(p->hosts.n, 0);
	ck_assert(!p->restrict_stream_events && !p->del_onion_any);
	ck_assert(!p->restrict_onion_events);
	ck_assert_uint_eq(p->n_confs + p->n_events, 0);
	profile_set_unref(s);

	s = load(&c, "- exe-paths: ['*']\n");
	ck_assert_ptr_nonnull(s);
	ck_assert(s->v[0]->has_apparmor_profiles && !s->v[0]->has_hosts);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Booleans: every YAML 1.1 spelling PyYAML accepts; null means false. */
struct bool_case {
	const char *text;
	int value;      /* -1: not a boolean */
};

static const struct bool_case bool_cases[] = {
	{ "true", 1 }, { "True", 1 }, { "TRUE", 1 }, { "yes", 1 },
	{ "Yes", 1 }, { "YES", 1 }, { "on", 1 }, { "On", 1 }, { "ON", 1 },
	{ "false", 0 }, { "False", 0 }, { "FALSE", 0 }, { "no", 0 },
	{ "No", 0 }, { "NO", 0 }, { "off", 0 }, { "Off", 0 }, { "OFF", 0 },
	{ "", 0 }, { "~", 0 }, { "null", 0 }, { "Null", 0 }, { "NULL", 0 },
	{ "!!bool true", 1 }, { "!!bool off", 0 },
	{ "tRUE", -1 }, { "yES", -1 }, { "y", -1 }, { "n", -1 }, { "1", -1 },
	{ "0", -1 }, { "'true'", -1 }, { "\"no\"", -1 }, { "nULL", -1 },
	{ "enabled", -1 },
};

START_TEST(test_bool_forms)
{
	const struct bool_case *t = &bool_cases[_i];
	struct collector c;
	profile_set_t *s;
	char *yaml;

	collector_init(&c);
	yaml = xasprintf("- del-onion-any: %s\n  events:\n"
	    "    CIRC: {suppress: %s}\n", t->text, t->text);
	s = load(&c, yaml);
	if (t->value < 0) {
		ck_assert_ptr_null(s);
		ck_assert_uint_eq(c.d.errors, 2);
		ck_assert_ptr_nonnull(find_diag(&c, true, "1:18",
		    "del-onion-any: expected a boolean", NULL));
	} else {
		if (s == NULL)
			collector_dump(&c);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(s->v[0]->del_onion_any, t->value);
		ck_assert_int_eq(s->v[0]->events[0].suppress, t->value);
		profile_set_unref(s);
	}
	free(yaml);
	collector_free(&c);
}
END_TEST

/*
 * Plain scalars are typed as PyYAML's safe_load types them (the expected
 * types were taken from PyYAML 6): a string is expected here.
 */
struct type_case {
	const char *text;
	const char *type;       /* NULL: a string */
};

static const struct type_case type_cases[] = {
	{ "1000", "an integer" }, { "0x1F", "an integer" },
	{ "0b101", "an integer" }, { "017", "an integer" },
	{ "1_000", "an integer" }, { "1:30", "an integer" },
	{ "1:5:9", "an integer" }, { "-5", "an integer" },
	{ "+0", "an integer" }, { "0", "an integer" }, { "1__", "an integer" },
	{ "1.5", "a number" }, { ".5", "a number" }, { "1.5e+3", "a number" },
	{ "-.inf", "a number" }, { ".NaN", "a number" }, { ".nan", "a number" },
	{ "190:20:30.15", "a number" }, { "0:30.5", "a number" },
	{ "1_0.5_", "a number" }, { "1.", "a number" },
	{ "-1.e-5", "a number" },
	{ "2024-01-01", "a date" }, { "2024-1-1 10:00:00", "a date" },
	{ "2024-01-01T10:00:00Z", "a date" },
	{ "2024-01-01 10:00:00.5 +02:00", "a date" },
	{ "yes", "a boolean" }, { "Off", "a boolean" },
	{ "~", "null" }, { "NULL", "null" },
	{ "<<", "unsupported" }, { "=", "unsupported" },
	{ "1e5", NULL }, { "1.5e3", NULL }, { "-.nan", NULL },
	{ "2024-1-1", NULL }, { "10.200.1.2", NULL }, { "1.2.3", NULL },
	{ "09", NULL }, { "0o17", NULL }, { "+", NULL }, { "oN", NULL },
	{ "nULL", NULL }, { "1:60", NULL }, { "12:61", NULL }, { ".", NULL },
	{ "0b", NULL }, { "0x", NULL }, { "_1", NULL }, { "amnesia", NULL },
	{ "'1000'", NULL }, { "\"yes\"", NULL }, { "!!str abc", NULL },
	{ "!!int 7", "an integer" }, { "!!null x", "null" },
	{ "!!float 1", "a number" },
};

START_TEST(test_scalar_types)
{
	const struct type_case *t = &type_cases[_i];
	struct collector c;
	profile_set_t *s;
	char *yaml;

	collector_init(&c);
	yaml = xasprintf("- users: [%s]\n", t->text);
	s = load(&c, yaml);
	if (t->type == NULL) {
		if (s == NULL)
			collector_dump(&c);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(s->v[0]->users.n, 1);
		profile_set_unref(s);
	} else {
		ck_assert_ptr_null(s);
		ck_assert_uint_eq(c.d.errors, 1);
		ck_assert_uint_eq(c.n, 1);
		ck_assert_ptr_nonnull(strstr(c.v[0].msg, t->type));
	}
	free(yaml);
	collector_free(&c);
}
END_TEST

/* Default names come from the file name; unnamed ones get numbered. */
START_TEST(test_default_names)
{
	static const char yaml[] =
	    "- {}\n- {}\n- name: explicit\n- {}\n";
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	s = load_str(&c, "/some/dir/40_app.yaml", yaml, strlen(yaml));
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->n, 4);
	ck_assert_str_eq(s->v[0]->name, "40_app");
	ck_assert_str_eq(s->v[1]->name, "40_app-2");
	ck_assert_str_eq(s->v[2]->name, "explicit");
	ck_assert_str_eq(s->v[3]->name, "40_app-3");
	ck_assert_str_eq(s->v[3]->loc.file, "/some/dir/40_app.yaml");
	profile_set_unref(s);

	s = load_str(&c, "plain", "- {}\n", 5);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->v[0]->name, "plain");
	profile_set_unref(s);

	s = load_str(&c, "x.yml.yml", "- {}\n", 5);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->v[0]->name, "x.yml");
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Problems in several places are all reported, not just the first. */
START_TEST(test_reports_everything)
{
	static const char yaml[] =
	    "- foo: 1\n"
	    "  commands:\n"
	    "    GETINFO: ['a(']\n"
	    "    FROB: []\n"
	    "- events:\n"
	    "    CIRC: {suppress: maybe}\n";
	struct collector c;

	collector_init(&c);
	ck_assert_ptr_null(load(&c, yaml));
	ck_assert_uint_eq(c.d.errors, 3);
	ck_assert_uint_eq(c.d.warnings, 1);
	ck_assert_ptr_nonnull(find_diag(&c, true, "1:3", "unknown key", NULL));
	ck_assert_ptr_nonnull(find_diag(&c, true, "3:15", "parenthesis", NULL));
	ck_assert_ptr_nonnull(find_diag(&c, false, "4:5", "FROB", NULL));
	ck_assert_ptr_nonnull(find_diag(&c, true, "6:22", "boolean", NULL));
	collector_free(&c);
}
END_TEST

/* A flood of errors is cut short. */
START_TEST(test_error_cap)
{
	struct collector c;
	char *yaml = xstrdup("- name: x\n");

	for (int i = 0; i < 200; i++) {
		char *t = xasprintf("%s  k%d: 1\n", yaml, i);
		free(yaml);
		yaml = t;
	}
	collector_init(&c);
	ck_assert_ptr_null(load(&c, yaml));
	ck_assert_uint_le(c.d.errors, 60);
	ck_assert_uint_ge(c.d.errors, 10);
	ck_assert_str_eq(c.v[c.n - 1].msg,
	    "too many errors; giving up on this file");
	free(yaml);
	collector_free(&c);
}
END_TEST

/* Hostile sizes: each limit gives a clear error, quickly. */
START_TEST(test_limits)
{
	struct collector c;
	profile_set_t *s;
	char *buf, *p;
	size_t len, n;

	collector_init(&c);

	/* file size */
	len = 1024 * 1024 + 1;
	buf = xmalloc(len);
	memset(buf, ' ', len);
	memcpy(buf, "- {}\n", 5);
	ck_assert_ptr_null(load_str(&c, "big.yml", buf, len));
	ck_assert_ptr_nonnull(find_diag(&c, true, "0:0", "larger than", NULL));
	s = load_str(&c, "big.yml", buf, len - 1);
	ck_assert_ptr_nonnull(s);
	profile_set_unref(s);
	free(buf);
	profile_set_unref(profile_set_load_buffer("big.yml", "- {}", 4, NULL));
	collector_free(&c);

	/* nesting */
	buf = xmalloc(200);
	memset(buf, '[', 100);
	memset(buf + 100, ']', 100);
	ck_assert_ptr_null(load_str(&c, "deep.yml", buf, 200));
	ck_assert_ptr_nonnull(find_diag(&c, true, "1:33", "nested deeper",
	    NULL));
	free(buf);
	collector_free(&c);

	/* rules per command */
	n = 4097;
	buf = p = xmalloc(64 + 4 * n);
	p += sprintf(p, "- commands:\n    GETINFO: [");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "a, ");
	sprintf(p, "]\n");
	ck_assert_ptr_null(load(&c, buf));
	ck_assert_ptr_nonnull(find_diag(&c, true, "2:14",
	    "too many rules for one command (limit 4096)", NULL));
	collector_free(&c);
	/* ... and 4096 are fine */
	memcpy(strstr(buf, "a, ]"), "]   ", 4);
	collector_init(&c);
	s = load(&c, buf);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(s->v[0]->cmds[CMD_GETINFO].n, 4096);
	profile_set_unref(s);
	free(buf);
	collector_free(&c);
}
END_TEST

/* Aliases cannot multiply the work beyond the per-file budgets. */
START_TEST(test_alias_budgets)
{
	struct collector c;
	char *buf, *p;
	size_t big = 300 * 1000;

	/* a large string referenced many times */
	collector_init(&c);
	buf = p = xmalloc(big + 64 * 100);
	p += sprintf(p, "- {name: p0, users: &u ['");
	memset(p, 'x', big);
	p += big;
	p += sprintf(p, "']}\n");
	for (int i = 1; i < 100; i++)
		p += sprintf(p, "- {name: p%d, users: *u}\n", i);
	ck_assert_ptr_null(load(&c, buf));
	ck_assert_uint_eq(c.d.errors, 1);
	ck_assert_ptr_nonnull(strstr(c.v[0].msg, "too much data"));
	free(buf);
	collector_free(&c);

	/* one list of patterns compiled again and again */
	buf = p = xmalloc(64 * 1024);
	p += sprintf(p, "- name: p0\n  commands:\n    GETINFO: &r [");
	for (int i = 0; i < 4096; i++)
		p += sprintf(p, "a,");
	p += sprintf(p, "]\n");
	for (int i = 1; i < 20; i++)
		p += sprintf(p, "- {name: p%d, commands: {GETINFO: *r}}\n", i);
	ck_assert_ptr_null(load(&c, buf));
	ck_assert_uint_eq(c.d.errors, 1);
	ck_assert_ptr_nonnull(strstr(c.v[0].msg,
	    "too many patterns and replacements in one file"));
	free(buf);
	collector_free(&c);
}
END_TEST

START_TEST(test_diag)
{
	struct collector c;
	profile_diag_t quiet = { 0 };

	collector_init(&c);
	profile_diag(&c.d, true, "f.yml", 3, 4, "bad %s %d", "thing", 7);
	profile_diag(&c.d, false, NULL, 0, 0, "note");
	ck_assert_uint_eq(c.d.errors, 1);
	ck_assert_uint_eq(c.d.warnings, 1);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.v[0].msg, "bad thing 7");
	ck_assert_str_eq(c.v[0].file, "f.yml");
	ck_assert_uint_eq(c.v[0].line, 3);
	ck_assert_uint_eq(c.v[0].col, 4);
	ck_assert(c.v[0].is_error && !c.v[1].is_error);
	collector_free(&c);

	profile_diag(&quiet, false, "x", 1, 1, "w");
	profile_diag(&quiet, true, "x", 1, 1, "e");
	profile_diag(&quiet, true, "x", 1, 1, "e");
	ck_assert_uint_eq(quiet.warnings, 1);
	ck_assert_uint_eq(quiet.errors, 2);

	/* a NULL sink is allowed when loading */
	ck_assert_ptr_null(profile_set_load_buffer("x.yml", "- a: b", 6, NULL));
}
END_TEST

/* Counts accumulate across loads and the result depends only on the
 * errors of this load. */
START_TEST(test_diag_accumulates)
{
	struct collector c;
	profile_set_t *s;

	collector_init(&c);
	ck_assert_ptr_null(load(&c, "- foo: 1\n"));
	ck_assert_uint_eq(c.d.errors, 1);
	s = load(&c, "- {}\n");
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 1);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

START_TEST(test_set_basics)
{
	profile_set_t *s = profile_set_new_empty();
	const profile_t *e = profile_empty();

	ck_assert_uint_eq(s->n, 0);
	ck_assert_uint_eq(s->refcnt, 1);
	ck_assert_ptr_null(profile_set_find(s, "(none)"));
	ck_assert_ptr_eq(profile_set_ref(s), s);
	ck_assert_uint_eq(s->refcnt, 2);
	profile_set_unref(s);
	ck_assert_uint_eq(s->refcnt, 1);
	profile_set_unref(s);
	profile_set_unref(NULL);

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_eq(profile_empty(), e);
	ck_assert_str_eq(e->name, "(none)");
	for (int i = 0; i < CMD_COUNT; i++)
		ck_assert_uint_eq(e->cmds[i].n, 0);
	ck_assert_uint_eq(e->n_confs + e->n_events, 0);
	ck_assert(!e->has_apparmor_profiles && !e->has_users && !e->has_hosts);
	ck_assert(!e->restrict_stream_events && !e->del_onion_any);
	ck_assert_ptr_null(profile_find_event(e, "CIRC", 4));
	ck_assert_ptr_null(profile_find_conf(e, "Bridge", 6));
}
END_TEST

/* A set outlives the load that made it as long as it is referenced. */
START_TEST(test_set_refcount)
{
	struct collector c;
	profile_set_t *s, *r;

	collector_init(&c);
	s = load(&c, "- name: a\n  commands:\n    GETINFO: ['version']\n");
	ck_assert_ptr_nonnull(s);
	r = profile_set_ref(s);
	profile_set_unref(s);
	ck_assert(regex_match(profile_set_find(r, "a")->cmds[CMD_GETINFO]
	    .v[0].re, "version", 7, NULL));
	profile_set_unref(r);
	collector_free(&c);
}
END_TEST

/*
 * Directories.
 */

static char *
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/test_profile.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	free(path);
}

/* Remove dir and what it holds (files, symlinks, empty directories). */
static void
remove_tree(char *dir)
{
	char *cmd = xasprintf("rm -rf -- '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}

START_TEST(test_dir_precedence)
{
	char *a = make_tmpdir(), *b = make_tmpdir();
	char *missing = xasprintf("%s/does-not-exist", a);
	char *sub = xasprintf("%s/sub.yml", b);
	const char *dirs[3];
	struct collector c;
	profile_set_t *s;
	const profile_t *p;

	write_file(a, "app.yml", "- hosts: ['10.0.0.1']\n");
	write_file(b, "app.yml", "- hosts: ['10.0.0.2'\n");   /* broken */
	write_file(b, "other.yaml", "- users: [u]\n");
	write_file(b, "b.yml", "- name: second-b\n");
	write_file(b, "a.yml", "- name: first-a\n");
	write_file(b, ".hidden.yml", "broken: [\n");
	write_file(b, "notes.txt", "broken: [\n");
	write_file(b, "x.yml.orig", "broken: [\n");
	ck_assert_int_eq(mkdir(sub, 0700), 0);

	/* b alone fails, because of its app.yml */
	collector_init(&c);
	dirs[0] = b;
	ck_assert_ptr_null(profile_set_load(dirs, 1, &c.d));
	ck_assert_uint_eq(c.d.errors, 1);
	ck_assert_ptr_nonnull(find_diag(&c, true, "2:1", "did not find",
	    "app.yml"));
	collector_free(&c);

	/* a's app.yml hides b's; missing directories are skipped */
	collector_init(&c);
	dirs[0] = missing;
	dirs[1] = a;
	dirs[2] = b;
	s = profile_set_load(dirs, 3, &c.d);
	if (s == NULL || c.n != 0)
		collector_dump(&c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(c.d.warnings, 0);
	ck_assert_uint_eq(s->n, 4);
	p = profile_set_find(s, "app");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->hosts.v[0], "10.0.0.1");
	ck_assert_ptr_nonnull(strstr(p->loc.file, a));
	/* order: directories in turn, files by name */
	ck_assert_str_eq(s->v[0]->name, "app");
	ck_assert_str_eq(s->v[1]->name, "first-a");
	ck_assert_str_eq(s->v[2]->name, "second-b");
	ck_assert_str_eq(s->v[3]->name, "other");
	ck_assert_ptr_nonnull(profile_set_find(s, "other"));
	profile_set_unref(s);
	collector_free(&c);

	/* no directory at all: an empty set */
	s = profile_set_load(dirs, 1, &c.d);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->n, 0);
	profile_set_unref(s);
	s = profile_set_load(NULL, 0, NULL);
	ck_assert_ptr_nonnull(s);
	profile_set_unref(s);

	free(missing);
	free(sub);
	remove_tree(a);
	remove_tree(b);
}
END_TEST

START_TEST(test_dir_duplicate_names)
{
	char *a = make_tmpdir(), *b = make_tmpdir();
	const char *dirs[2] = { a, b };
	struct collector c;
	const struct diag_rec *r;
	char *first;

	write_file(a, "one.yml", "- name: same\n");
	write_file(b, "two.yml", "- {}\n- name: same\n");
	collector_init(&c);
	ck_assert_ptr_null(profile_set_load(dirs, 2, &c.d));
	ck_assert_uint_eq(c.d.errors, 1);
	r = find_diag(&c, true, "2:3", "duplicate profile name 'same'",
	    "two.yml");
	if (r == NULL)
		collector_dump(&c);
	ck_assert_ptr_nonnull(r);
	first = xasprintf("%s/one.yml:1", a);
	ck_assert_ptr_nonnull(strstr(r->msg, first));
	free(first);
	collector_free(&c);

	/* a file name's default profile name clashing with an explicit one */
	write_file(b, "two.yml", "- name: one\n");
	collector_init(&c);
	write_file(a, "one.yml", "- {}\n");
	ck_assert_ptr_null(profile_set_load(dirs, 2, &c.d));
	ck_assert_ptr_nonnull(find_diag(&c, true, "1:3",
	    "duplicate profile name 'one'", "two.yml"));
	collector_free(&c);
	remove_tree(a);
	remove_tree(b);
}
END_TEST

/* Every file is loaded and every problem reported; one bad file sinks the
 * whole set. Unreadable files are errors that name the system's reason. */
START_TEST(test_dir_errors)
{
	char *a = make_tmpdir();
	char *link = xasprintf("%s/dangling.yml", a);
	char *notdir = xasprintf("%s/empty.yml", a);
	const char *dirs[1] = { a };
	struct collector c;
	profile_set_t *s;

	write_file(a, "bad1.yml", "- foo: 1\n");
	write_file(a, "bad2.yml", "- bar: 1\n");
	write_file(a, "empty.yml", "");
	write_file(a, "good.yml", "- {}\n");
	ck_assert_int_eq(symlink("nowhere.yml", link), 0);
	collector_init(&c);
	ck_assert_ptr_null(profile_set_load(dirs, 1, &c.d));
	ck_assert_uint_eq(c.d.errors, 3);
	ck_assert_uint_eq(c.d.warnings, 1);
	ck_assert_ptr_nonnull(find_diag(&c, true, "1:3", "'foo'", "bad1.yml"));
	ck_assert_ptr_nonnull(find_diag(&c, true, "1:3", "'bar'", "bad2.yml"));
	ck_assert_ptr_nonnull(find_diag(&c, true, "0:0",
	    strerror(ENOENT), "dangling.yml"));
	ck_assert_ptr_nonnull(find_diag(&c, false, "0:0", "no profiles",
	    "empty.yml"));
	collector_free(&c);

	/* without the bad ones the rest loads */
	ck_assert_int_eq(unlink(link), 0);
	write_file(a, "bad1.yml", "- name: b1\n");
	write_file(a, "bad2.yml", "- name: b2\n");
	collector_init(&c);
	s = profile_set_load(dirs, 1, &c.d);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->n, 3);
	profile_set_unref(s);
	collector_free(&c);

	/* a path that is not a directory */
	dirs[0] = notdir;
	collector_init(&c);
	ck_assert_ptr_null(profile_set_load(dirs, 1, &c.d));
	ck_assert_ptr_nonnull(find_diag(&c, true, "0:0", strerror(ENOTDIR),
	    "empty.yml"));
	collector_free(&c);
	free(link);
	free(notdir);
	remove_tree(a);
}
END_TEST

/*
 * The profiles Tails and Whonix ship must load as their authors meant.
 */

static bool
compat_available(void)
{
	struct stat st;

	return stat(COMPAT_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

static profile_set_t *
load_compat(const char *sub, struct collector *c)
{
	char *dir = xasprintf("%s/%s", COMPAT_DIR, sub);
	const char *dirs[1] = { dir };
	profile_set_t *s;

	s = profile_set_load(dirs, 1, &c->d);
	if (s == NULL || c->d.errors != 0)
		collector_dump(c);
	free(dir);
	return s;
}

START_TEST(test_compat_tails)
{
	struct collector c;
	profile_set_t *s;
	const profile_t *p;

	ck_assert_msg(compat_available(), "%s: not a directory", COMPAT_DIR);
	collector_init(&c);
	s = load_compat("tails", &c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(s->n, 3);

	p = profile_set_find(s, "tor-browser");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->restrict_stream_events);
	ck_assert(p->has_hosts && p->has_users && !p->has_apparmor_profiles);
	ck_assert_uint_eq(p->hosts.n, 1);
	ck_assert_str_eq(p->hosts.v[0], "10.200.1.2");
	ck_assert_str_eq(p->users.v[0], "amnesia");
	ck_assert_uint_eq(p->cmds[CMD_GETINFO].n, 4);
	ck_assert(regex_match(p->cmds[CMD_GETINFO].v[3].re,
	    "ip-to-country/1.2.3.4", 21, NULL));
	ck_assert_uint_eq(p->cmds[CMD_ONION_CLIENT_AUTH_ADD].n, 1);
	ck_assert_ptr_nonnull(profile_find_conf(p, "Bridge", 6));
	ck_assert_ptr_nonnull(profile_find_event(p, "STREAM", 6));
	ck_assert_ptr_nonnull(find_diag(&c, false, "15:9",
	    "ONION_CLIENT_AUTH_ADD rule '.+' accepts arbitrary text",
	    "tor-browser.yml"));

	p = profile_set_find(s, "onionshare");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->apparmor_profiles.n, 2);
	ck_assert_str_eq(p->apparmor_profiles.v[1], "/usr/bin/onionshare-cli");
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].n, 3);
	ck_assert(regex_match(p->cmds[CMD_ADD_ONION].v[2].re,
	    "NEW:ED25519-V3 Port=80,17650", 28, NULL));
	ck_assert(!regex_match(p->cmds[CMD_ADD_ONION].v[2].re,
	    "NEW:ED25519-V3 Port=80,17651", 28, NULL));
	ck_assert(profile_find_event(p, "SIGNAL", 6)->suppress);
	ck_assert(!profile_find_event(p, "HS_DESC", 7)->suppress);

	p = profile_set_find(s, "onioncircuits");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->n_confs, 2);
	ck_assert_uint_eq(p->cmds[CMD_CLOSECIRCUIT].n, 1);
	ck_assert_uint_eq(p->n_events, 5);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

START_TEST(test_compat_whonix)
{
	struct collector c;
	profile_set_t *s;
	const profile_t *p;
	const event_rule_t *ev;
	regex_match_t m;
	template_vars_t vars = { { [TPL_VAR_CLIENT_ADDRESS] = "10.137.0.5" } };
	char *out;
	size_t len;

	ck_assert_msg(compat_available(), "%s: not a directory", COMPAT_DIR);
	collector_init(&c);
	s = load_compat("whonix", &c);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(s->n, 10);

	p = profile_set_find(s, "40_bisq");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->has_apparmor_profiles && p->has_users && p->has_hosts);
	ck_assert_str_eq(p->apparmor_profiles.v[0], "*");
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(p->cmds[CMD_ADD_ONION].v[i].replacement);
	ck_assert(regex_match(p->cmds[CMD_ADD_ONION].v[0].re,
	    "NEW:ED25519-V3 Port=9999,127.0.0.1:9999", 39, &m));
	out = template_expand(p->cmds[CMD_ADD_ONION].v[0].replacement, &m,
	    &vars, &len);
	ck_assert_str_eq(out, "NEW:ED25519-V3 Port=9999,10.137.0.5:"
	    "127.0.0.1:9999");
	free(out);
	ck_assert_uint_eq(p->cmds[CMD_GETINFO].v[0].response.n, 1);
	ck_assert_uint_eq(p->cmds[CMD_SETCONF].n, 1);
	ev = profile_find_event(p, "HS_DESC", 7);
	ck_assert_ptr_nonnull(ev);
	ck_assert(!ev->suppress);
	ck_assert_uint_eq(ev->response.n, 8);
	ck_assert(regex_match(ev->response.v[0].re,
	    "650 HS_DESC CREATED a b c d e f", 31, &m));
	out = template_expand(ev->response.v[0].replacement, &m, NULL, &len);
	ck_assert_str_eq(out, "650 HS_DESC CREATED a b c redacted e f");
	free(out);
	ck_assert_str_eq(template_source(ev->response.v[7].replacement), "");
	ck_assert(profile_find_event(p, "hs_desc_content", 15)->suppress);
	ck_assert_uint_eq(p->n_events, 9);

	p = profile_set_find(s, "40_onion_authentication");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->cmds[CMD_ONION_CLIENT_AUTH_ADD].n, 1);
	ck_assert(regex_match(p->cmds[CMD_ONION_CLIENT_AUTH_ADD].v[0].re,
	    "abc x25519:def ClientName=me", 28, NULL));

	p = profile_set_find(s, "40_haveno");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->cmds[CMD_AUTHCHALLENGE].n, 0);
	ck_assert_uint_eq(p->cmds[CMD_GETINFO].n, 2);
	ck_assert_ptr_nonnull(find_diag(&c, false, "25:5",
	    "AUTHCHALLENGE is answered by torgate itself; rule ignored",
	    "40_haveno.yml"));

	p = profile_set_find(s, "40_wahay");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->apparmor_profiles.v[0], "/usr/bin/wahay");
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].n, 1);

	p = profile_set_find(s, "40_onionshare");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].n, 7);
	ck_assert_uint_eq(p->cmds[CMD_ADD_ONION].v[3].response.n, 1);
	ck_assert_uint_eq(profile_find_event(p, "HS_DESC", 7)->response.n, 7);

	for (size_t i = 0; i < s->n; i++)
		ck_assert_ptr_nonnull(strstr(s->v[i]->loc.file, "whonix/"));
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Both directories together, as a system carrying both would load them. */
START_TEST(test_compat_both)
{
	char *t, *w;
	const char *dirs[2];
	struct collector c;
	profile_set_t *s;

	ck_assert_msg(compat_available(), "%s: not a directory", COMPAT_DIR);
	t = xasprintf("%s/tails", COMPAT_DIR);
	w = xasprintf("%s/whonix", COMPAT_DIR);
	dirs[0] = t;
	dirs[1] = w;
	collector_init(&c);
	s = profile_set_load(dirs, 2, &c.d);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.d.errors, 0);
	ck_assert_uint_eq(s->n, 13);
	profile_set_unref(s);
	collector_free(&c);
	free(t);
	free(w);
}
END_TEST

/* ---- collisions (profile_collide.c) ---- */

#define LOCAL PROFILE_REACH_LOCAL
#define REMOTE PROFILE_REACH_REMOTE

static const struct collide_case {
	const char *yaml;
	unsigned reach;
	size_t n;               /* collision warnings */
	const char *where;      /* of the first */
	const char *sub[3];     /* in the first */
} collide_cases[] = {
	/* every remote client */
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['*']\n", REMOTE,
	  1, "1:3", { "profiles 'a' (test.yml:1:3) and 'b' (test.yml:3:3) "
	  "both match any remote client (hosts '*')", "denied everything",
	  "profile=NAME" } },
	/* ... that no listener takes */
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['*']\n", LOCAL,
	  0, NULL, { NULL } },
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['*']\n", 0,
	  0, NULL, { NULL } },
	/* one host */
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['10.0.0.2']\n",
	  REMOTE, 1, "1:3", { "a remote client at 10.0.0.2", "'a'", "'b'" } },
	{ "- name: a\n  hosts: ['10.0.0.2', '10.0.0.3']\n"
	  "- name: b\n  hosts: ['10.0.0.3']\n",
	  REMOTE, 1, "1:3", { "a remote client at 10.0.0.3", NULL } },
	{ "- name: a\n  hosts: ['10.0.0.2']\n- name: b\n  hosts: ['10.0.0.3']\n"
	  "- name: c\n  hosts: []\n- name: d\n", REMOTE | LOCAL, 0, NULL,
	  { NULL } },
	/* every local client */
	{ "- name: a\n  exe-paths: ['*']\n  users: ['*']\n"
	  "- name: b\n  apparmor-profiles: ['*']\n  users: ['*']\n", LOCAL,
	  1, "1:3", { "both match any local client", NULL } },
	{ "- name: a\n  exe-paths: ['*']\n  users: ['*']\n"
	  "- name: b\n  apparmor-profiles: ['*']\n  users: ['*']\n", REMOTE,
	  0, NULL, { NULL } },
	/* one program, any user */
	{ "- name: a\n  exe-paths: ['*']\n  users: ['*']\n"
	  "- name: b\n  exe-paths: ['/usr/bin/x']\n  users: ['*']\n", LOCAL,
	  1, "1:3", { "a local client '/usr/bin/x' (AppArmor label or "
	  "executable) run by any user", NULL } },
	/* one user, any program */
	{ "- name: a\n  exe-paths: ['*']\n  users: ['bob']\n"
	  "- name: b\n  exe-paths: ['*']\n  users: ['alice', 'bob']\n", LOCAL,
	  1, "1:3", { "any local program run by user 'bob'", NULL } },
	/* one program of one user */
	{ "- name: a\n  apparmor-profiles: ['/usr/bin/x']\n  users: ['*']\n"
	  "- name: b\n  exe-paths: ['/usr/bin/x']\n  users: ['amnesia']\n",
	  LOCAL, 1, "1:3", { "a local client '/usr/bin/x' run by user "
	  "'amnesia'", NULL } },
	/* different programs, or users: none */
	{ "- name: a\n  exe-paths: ['/usr/bin/x']\n  users: ['*']\n"
	  "- name: b\n  exe-paths: ['/usr/bin/y']\n  users: ['*']\n",
	  LOCAL, 0, NULL, { NULL } },
	{ "- name: c\n  exe-paths: ['*']\n  users: ['u']\n"
	  "- name: d\n  exe-paths: ['*']\n  users: ['v']\n", LOCAL, 0, NULL,
	  { NULL } },
	/* ... but a program of any user and any program of a user do */
	{ "- name: a\n  exe-paths: ['/usr/bin/x']\n  users: ['*']\n"
	  "- name: c\n  exe-paths: ['*']\n  users: ['u']\n", LOCAL, 1, "1:3",
	  { "'a' (test.yml:1:3) and 'c' (test.yml:4:3) both match a local "
	  "client '/usr/bin/x' run by user 'u'", NULL } },
	/* no users key: never chosen for a local client */
	{ "- name: a\n  exe-paths: ['*']\n"
	  "- name: b\n  exe-paths: ['*']\n  users: ['*']\n", LOCAL, 0, NULL,
	  { NULL } },
	/* '' matches no client */
	{ "- name: a\n  exe-paths: ['*']\n  users: ['']\n"
	  "- name: b\n  exe-paths: ['*']\n  users: ['*']\n", LOCAL, 0, NULL,
	  { NULL } },
	/* three: one report for the widest client, the narrower group too */
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['*']\n"
	  "- name: c\n  hosts: ['10.0.0.9']\n", REMOTE, 2, "1:3",
	  { "profiles 'a' (test.yml:1:3) and 'b' (test.yml:3:3) both match "
	  "any remote client", NULL } },
	{ "- name: a\n  hosts: ['*']\n- name: b\n  hosts: ['*']\n"
	  "- name: c\n  hosts: ['*']\n", REMOTE, 1, "1:3",
	  { "profiles 'a' (test.yml:1:3), 'b' (test.yml:3:3) and 'c' "
	  "(test.yml:5:3) all match any remote client", NULL } },
	/* local and remote */
	{ "- name: a\n  exe-paths: ['*']\n  users: ['*']\n  hosts: ['*']\n"
	  "- name: b\n  exe-paths: ['*']\n  users: ['*']\n  hosts: ['*']\n",
	  LOCAL | REMOTE, 2, "1:3", { "any local client", NULL } },
};

START_TEST(test_collide_table)
{
	const struct collide_case *t = &collide_cases[_i];
	struct collector c;
	profile_set_t *s;
	unsigned w;

	collector_init(&c);
	s = load(&c, t->yaml);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(c.n, 0);
	profile_set_check_collisions(s, t->reach, &c.d);
	if (c.n != t->n)
		collector_dump(&c);
	ck_assert_uint_eq(c.n, t->n);
	w = c.d.warnings;
	ck_assert_uint_eq(w, t->n);
	ck_assert_uint_eq(c.d.errors, 0);
	for (size_t k = 0; t->n > 0 && k < 3 && t->sub[k] != NULL; k++) {
		if (find_diag(&c, false, t->where, t->sub[k], "test.yml") ==
		    NULL)
			collector_dump(&c);
		ck_assert_ptr_nonnull(find_diag(&c, false, t->where,
		    t->sub[k], "test.yml"));
	}
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

/* Many profiles in one group are named up to 16; many groups are
 * reported up to 32, then said to be more. */
START_TEST(test_collide_bounds)
{
	struct collector c;
	profile_set_t *s;
	char *y = xstrdup(""), *t;

	for (int i = 0; i < 20; i++) {
		t = xasprintf("%s- name: p%d\n  hosts: ['*']\n", y, i);
		free(y);
		y = t;
	}
	collector_init(&c);
	s = load(&c, y);
	ck_assert_ptr_nonnull(s);
	profile_set_check_collisions(s, REMOTE, &c.d);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_ptr_nonnull(strstr(c.v[0].msg, "'p15' (test.yml:31:3) and "
	    "4 more all match any remote client"));
	ck_assert_ptr_null(strstr(c.v[0].msg, "'p16'"));
	profile_set_unref(s);
	collector_free(&c);
	free(y);

	y = xstrdup("");
	for (int i = 0; i < 40; i++) {
		t = xasprintf("%s- name: a%d\n  hosts: ['10.0.0.%d']\n"
		    "- name: b%d\n  hosts: ['10.0.0.%d']\n", y, i, i, i, i);
		free(y);
		y = t;
	}
	s = load(&c, y);
	ck_assert_ptr_nonnull(s);
	profile_set_check_collisions(s, REMOTE, &c.d);
	ck_assert_uint_eq(c.n, 33);
	ck_assert_ptr_nonnull(strstr(c.v[31].msg, "at 10.0.0.31"));
	ck_assert_str_eq(c.v[32].msg, "more profiles collide; not reporting "
	    "more");
	profile_set_unref(s);
	collector_free(&c);
	free(y);
}
END_TEST

/* Only listeners bound to no profile choose one, and only for the
 * clients they can take. */
static const struct {
	const char *listeners[3];
	unsigned reach;
} reach_cases[] = {
	{ { "unix:/run/x", NULL }, LOCAL },
	{ { "127.0.0.1:951", NULL }, LOCAL },
	{ { "127.0.0.2:951", NULL }, LOCAL },
	{ { "[::1]:951", NULL }, LOCAL },
	{ { "10.152.152.10:9051", NULL }, REMOTE },
	{ { "[2001:db8::1]:9051", NULL }, REMOTE },
	{ { "0.0.0.0:9051", NULL }, LOCAL | REMOTE },
	{ { "[::]:9051", NULL }, LOCAL | REMOTE },
	{ { "unix:/run/x,profile=a", "10.0.0.1:9051,profile=b", NULL }, 0 },
	{ { "unix:/run/x,profile=a", "10.0.0.1:9051", NULL }, REMOTE },
	{ { "unix:/run/x", "10.0.0.1:9051,profile=b", NULL }, LOCAL },
	{ { "unix:/run/x", "10.0.0.1:9051", NULL }, LOCAL | REMOTE },
};

START_TEST(test_collide_reach)
{
	listen_spec_t v[3];
	size_t n = 0;
	char err[256];

	memset(v, 0, sizeof(v));
	for (; n < 3 && reach_cases[_i].listeners[n] != NULL; n++)
		ck_assert_msg(listen_spec_parse(reach_cases[_i].listeners[n],
		    &v[n], err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(profile_reach_of_listeners(v, n),
	    reach_cases[_i].reach);
	for (size_t i = 0; i < n; i++)
		listen_spec_clear(&v[i]);
}
END_TEST

/* Nine of Whonix's ten profiles match every client: each local one, each
 * remote one, and with Wahay's, Wahay run by amnesia. Tails' do not
 * collide. */
START_TEST(test_collide_compat)
{
	struct collector c;
	profile_set_t *s;
	const struct diag_rec *r;

	ck_assert_msg(compat_available(), "%s: not a directory", COMPAT_DIR);
	collector_init(&c);
	s = load_compat("whonix", &c);
	ck_assert_ptr_nonnull(s);
	collector_free(&c);
	profile_set_check_collisions(s, LOCAL | REMOTE, &c.d);
	if (c.n != 3)
		collector_dump(&c);
	ck_assert_uint_eq(c.n, 3);
	r = find_diag(&c, false, "12:3", "'40_bisq' (40_bisq.yml:12:3), "
	    "'40_bitcoind' (40_bitcoind.yml:24:3), ", "40_bisq.yml");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(strstr(r->msg, "and '40_zeronet' "
	    "(40_zeronet.yml:12:3) all match any local client"));
	ck_assert_ptr_null(strstr(r->msg, "wahay"));
	ck_assert_ptr_nonnull(find_diag(&c, false, "12:3", "'40_wahay' "
	    "(40_wahay.yml:4:3) and '40_zeronet' (40_zeronet.yml:12:3) all "
	    "match a local client '/usr/bin/wahay' run by user 'amnesia'",
	    "40_bisq.yml"));
	r = find_diag(&c, false, "12:3", "all match any remote client "
	    "(hosts '*')", "40_bisq.yml");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(strstr(r->msg, "wahay"));
	profile_set_unref(s);
	collector_free(&c);

	s = load_compat("tails", &c);
	ck_assert_ptr_nonnull(s);
	collector_free(&c);
	profile_set_check_collisions(s, LOCAL | REMOTE, &c.d);
	if (c.n != 0)
		collector_dump(&c);
	ck_assert_uint_eq(c.n, 0);
	profile_set_unref(s);
	collector_free(&c);
}
END_TEST

static Suite *
profile_suite(bool with_compat)
{
	Suite *s = suite_create("profile");
	TCase *tc;

	tc = tcase_create("tables");
	tcase_add_loop_test(tc, test_ok_table, 0, (int)ARRAY_LEN(ok_cases));
	tcase_add_loop_test(tc, test_err_table, 0, (int)ARRAY_LEN(err_cases));
	tcase_add_loop_test(tc, test_warn_table, 0,
	    (int)ARRAY_LEN(warn_cases));
	tcase_add_loop_test(tc, test_bool_forms, 0,
	    (int)ARRAY_LEN(bool_cases));
	tcase_add_loop_test(tc, test_scalar_types, 0,
	    (int)ARRAY_LEN(type_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_absent_keys);
	tcase_add_test(tc, test_restrict_onion_events);
	tcase_add_test(tc, test_wildcard_only_where_dangerous);
	tcase_add_test(tc, test_ignored_commands_not_stored);
	tcase_add_test(tc, test_default_names);
	tcase_add_test(tc, test_reports_everything);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_diag);
	tcase_add_test(tc, test_diag_accumulates);
	tcase_add_test(tc, test_set_basics);
	tcase_add_test(tc, test_set_refcount);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_alias_budgets);
	suite_add_tcase(s, tc);

	tc = tcase_create("collisions");
	tcase_add_loop_test(tc, test_collide_table, 0,
	    (int)ARRAY_LEN(collide_cases));
	tcase_add_test(tc, test_collide_bounds);
	tcase_add_loop_test(tc, test_collide_reach, 0,
	    (int)ARRAY_LEN(reach_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("dirs");
	tcase_add_test(tc, test_dir_precedence);
	tcase_add_test(tc, test_dir_duplicate_names);
	tcase_add_test(tc, test_dir_errors);
	suite_add_tcase(s, tc);

	if (with_compat) {
		tc = tcase_create("compat");
		tcase_add_test(tc, test_compat_tails);
		tcase_add_test(tc, test_compat_whonix);
		tcase_add_test(tc, test_compat_both);
		tcase_add_test(tc, test_collide_compat);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	bool with_compat = compat_available();
	const char *ci = getenv("CI");
	SRunner *sr;
	int failed;

	if (!with_compat)
		fprintf(stderr, "test_profile: compatibility profiles not found "
		    "at %s (set TORGATE_COMPAT_PROFILES); %s\n", COMPAT_DIR,
		    ci != NULL && strcmp(ci, "true") == 0 ?
		    "CI=true: that is a failure" : "skipping those tests");
	sr = srunner_create(profile_suite(with_compat));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0)
		return EXIT_FAILURE;
	if (!with_compat)
		return ci != NULL && strcmp(ci, "true") == 0 ? EXIT_FAILURE :
		    EXIT_SKIP;
	return EXIT_SUCCESS;
}
