/*
 * test_policy.c: verdicts and profile choice (src/policy.c), with profiles
 * loaded from YAML through the real loader.
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "profile.h"
#include "torrc.h"

static const char profile_yaml[] =
"- name: t\n"
"  users: ['*']\n"
"  apparmor-profiles: ['*']\n"
"  commands:\n"
"    GETINFO:\n"
"      - 'version'\n"
"      - 'version|config-file'\n"
"      - 'ns/id/[a-fA-F0-9]+'\n"
"    SIGNAL:\n"
"      - 'NEWNYM'\n"
"    CLOSECIRCUIT:\n"
"      - '\\d+ '\n"
"    ADD_ONION:\n"
"      - pattern: 'NEW:(\\S+) Port=80,(\\d+)'\n"
"        replacement: 'NEW:{} Port=80,{client-address}:{} Flags=DiscardPK'\n"
"        response:\n"
"          - pattern: '250-PrivateKey=(\\S+):\\S+'\n"
"            replacement: '250-PrivateKey={}:redacted'\n"
"    HSFETCH:\n"
"      - ''\n"
"    LOADCONF:\n"
"      - 'x\\nSafeLogging 1'\n";

typedef struct {
	const char *line;     /* command line as the client sent it */
	const char *body;     /* multi-line body, or NULL */
	bool forward;
	const char *args;     /* rewritten arguments, or NULL */
} vcase_t;

static const vcase_t vcases[] = {
	{ "GETINFO version", NULL, true, NULL },
	{ "getinfo version", NULL, true, NULL },
	{ "GETINFO version ", NULL, true, NULL },   /* trailing space */
	{ "GETINFO version\t", NULL, true, NULL },
	{ "GETINFO  version", NULL, true, NULL },   /* tor skips it too */
	{ "GETINFO config-file", NULL, true, NULL },
	/* Whole-string matching: alternation and prefixes never widen. */
	{ "GETINFO version address", NULL, false, NULL },
	{ "GETINFO config-file address", NULL, false, NULL },
	{ "GETINFO versionX", NULL, false, NULL },
	{ "GETINFO address", NULL, false, NULL },
	{ "GETINFO ns/id/ABCDEF", NULL, true, NULL },
	{ "GETINFO ns/id/ABCDEF address", NULL, false, NULL },
	{ "GETINFO ns/id/", NULL, false, NULL },
	{ "GETINFO VERSION", NULL, false, NULL },   /* arguments keep case */
	{ "SIGNAL NEWNYM", NULL, true, NULL },
	{ "SIGNAL SHUTDOWN", NULL, false, NULL },
	{ "SIGNAL NEWNYM SHUTDOWN", NULL, false, NULL },
	{ "CLOSECIRCUIT 12 ", NULL, true, NULL },   /* onioncircuits style */
	{ "CLOSECIRCUIT 12", NULL, false, NULL },
	{ "HSFETCH", NULL, true, NULL },            /* '' allows the bare one */
	{ "HSFETCH x", NULL, false, NULL },
	{ "SETCONF SocksPort=0", NULL, false, NULL },
	{ "ADD_ONION NEW:ED25519-V3 Port=80,8080", NULL, true,
	  "NEW:ED25519-V3 Port=80,10.0.0.5:8080 Flags=DiscardPK" },
	{ "ADD_ONION NEW:ED25519-V3 Port=80,8080 Port=81,9051", NULL, false,
	  NULL },
	{ "+LOADCONF x", "SafeLogging 1\r\n", true, NULL },
	{ "+LOADCONF x", "SafeLogging 1\r\nControlPort 9999\r\n", false,
	  NULL },
	/* Data lines are matched as tor reads them: one leading dot goes. */
	{ "+LOADCONF x", ".SafeLogging 1\r\n", true, NULL },
	{ "+LOADCONF x", "..SafeLogging 1\r\n", false, NULL },
};

static profile_set_t *
load(const char *yaml)
{
	profile_diag_t d = { 0 };
	profile_set_t *set = profile_set_load_buffer("t.yml", yaml,
	    strlen(yaml), &d);
	ck_assert_msg(set != NULL, "profile did not load (%u errors)",
	    d.errors);
	return set;
}

/* profile_yaml, its last profile with confs that let LOADCONF reset every
 * guarded option (a body leaves out all it does not set). */
static char *
resettable_yaml(void)
{
	size_t cap = sizeof(profile_yaml) + 4096, n;
	char *out = malloc(cap);
	torrc_opt_t kind;
	const char *name;

	ck_assert_ptr_nonnull(out);
	n = (size_t)snprintf(out, cap, "%s  confs:\n", profile_yaml);
	for (size_t i = 0; (name = torrc_guarded(i, &kind)) != NULL; i++) {
		ck_assert(n < cap);
		n += (size_t)snprintf(out + n, cap - n, "    %s: ['']\n",
		    name);
	}
	ck_assert(n < cap);
	return out;
}

START_TEST(test_verdicts)
{
	const vcase_t *c = &vcases[_i];
	char *text = resettable_yaml();
	profile_set_t *set = load(text);
	const profile_t *p = profile_set_find(set, "t");
	template_vars_t vars = { { "10.0.0.5", "4444", "127.0.0.1", "951" } };
	policy_ctx_t ctx = { .vars = &vars };
	proto_cmd_t cmd = { 0 };
	const cmd_def_t *def;
	verdict_t v;
	char *line = strdup(c->line);

	ck_assert_ptr_nonnull(p);
	cmd.line = line;
	cmd.line_len = strlen(line);
	cmd.multiline = line[0] == '+';
	proto_split_command(line, cmd.line_len, &cmd.keyword,
	    &cmd.keyword_len, &cmd.args, &cmd.args_len);
	if (c->body) {
		cmd.body = strdup(c->body);
		cmd.body_len = strlen(c->body);
	}
	def = cmdtab_lookup(cmd.keyword, cmd.keyword_len);
	ck_assert_ptr_nonnull(def);
	policy_check(p, def, &cmd, &ctx, &v);
	ck_assert_msg((v.kind == VERDICT_FORWARD) == c->forward,
	    "'%s': verdict %d (%s)", c->line, v.kind, v.why ? v.why : "");
	if (c->args) {
		ck_assert_ptr_nonnull(v.args);
		ck_assert_str_eq(v.args, c->args);
		ck_assert_uint_eq(v.args_len, strlen(c->args));
	} else {
		ck_assert_ptr_null(v.args);
	}
	if (!c->forward) {
		ck_assert_ptr_nonnull(v.why);
		/* The log must tell a missing rule from a rule not matching. */
		ck_assert(strcmp(v.why, "no rule for this command") != 0 ||
		    p->cmds[def->id].n == 0);
	}
	verdict_clear(&v);
	proto_cmd_clear(&cmd);
	profile_set_unref(set);
	free(text);
}
END_TEST

/* Without those confs, a LOADCONF body that leaves out a guarded option
 * is denied: tor would reset it (CookieAuthentication to 0). */
START_TEST(test_loadconf_resets)
{
	profile_set_t *set = load(profile_yaml);
	const profile_t *p = profile_set_find(set, "t");
	template_vars_t vars = { { "10.0.0.5", "4444", "127.0.0.1", "951" } };
	policy_ctx_t ctx = { .vars = &vars };
	proto_cmd_t cmd = { 0 };
	verdict_t v;

	cmd.line = strdup("+LOADCONF x");
	cmd.line_len = strlen(cmd.line);
	cmd.multiline = true;
	proto_split_command(cmd.line, cmd.line_len, &cmd.keyword,
	    &cmd.keyword_len, &cmd.args, &cmd.args_len);
	cmd.body = strdup("SafeLogging 1\r\n");
	cmd.body_len = strlen(cmd.body);
	policy_check(p, cmdtab_lookup(cmd.keyword, cmd.keyword_len), &cmd,
	    &ctx, &v);
	ck_assert_int_eq(v.kind, VERDICT_DENY);
	ck_assert_ptr_nonnull(strstr(v.why, "which tor would reset"));
	verdict_clear(&v);
	proto_cmd_clear(&cmd);
	profile_set_unref(set);
}
END_TEST

START_TEST(test_response_rewrite)
{
	profile_set_t *set = load(profile_yaml);
	const profile_t *p = profile_set_find(set, "t");
	const cmd_rules_t *r = &p->cmds[CMD_ADD_ONION];
	const char *l1 = "250-PrivateKey=ED25519-V3:c2VjcmV0";
	const char *l2 = "250-ServiceID=abc";
	size_t n;
	char *out;

	ck_assert_uint_eq(r->n, 1);
	out = policy_rewrite_line(&r->v[0].response, l1, strlen(l1), NULL, &n);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "250-PrivateKey=ED25519-V3:redacted");
	free(out);
	ck_assert_ptr_null(policy_rewrite_line(&r->v[0].response, l2,
	    strlen(l2), NULL, &n));
	profile_set_unref(set);
}
END_TEST

static const char select_yaml[] =
"- name: browser\n"
"  apparmor-profiles: ['/usr/bin/browser']\n"
"  users: ['alice']\n"
"- name: remote\n"
"  hosts: ['10.0.0.2']\n"
"- name: anyone-local\n"
"  exe-paths: ['*']\n"
"  users: ['bob']\n"
"- name: bob-too\n"
"  apparmor-profiles: ['*']\n"
"  users: ['bob', 'carol']\n"
"- name: hosts-only\n"
"  hosts: ['*']\n"
"  users: ['*']\n";

typedef struct {
	bool local;
	const char *label, *exe, *user, *host;
	select_result_t want;
	const char *name;
} scase_t;

static const scase_t scases[] = {
	{ true, "/usr/bin/browser", "", "alice", "unix", SELECT_ONE, "browser" },
	{ true, "", "/usr/bin/browser", "alice", "unix", SELECT_ONE, "browser" },
	{ true, "/usr/bin/browser", "", "mallory", "unix", SELECT_NONE, NULL },
	{ true, "/usr/bin/other", "", "alice", "unix", SELECT_NONE, NULL },
	{ false, "", "", "", "10.0.0.2", SELECT_COLLISION, NULL },
	{ false, "", "", "", "10.0.0.3", SELECT_ONE, "hosts-only" },
	{ true, "", "/bin/x", "bob", "unix", SELECT_COLLISION, NULL },
	{ true, "", "/bin/x", "carol", "unix", SELECT_ONE, "bob-too" },
	{ true, "", "/bin/x", "dave", "unix", SELECT_NONE, NULL },
};

/*
 * A pattern that hits the match limit denies the command outright: the
 * '.*' rule after it, the key-by-key way in and the confs are not tried.
 * Below the limit the same rules decide as usual.
 */
static const char limit_yaml[] =
"- name: l\n"
"  users: ['*']\n"
"  apparmor-profiles: ['*']\n"
"  commands:\n"
"    ADD_ONION:\n"
"      - '(\\S+) Port=(\\S+),(\\S+)'\n"
"      - '.*'\n"
"    GETINFO:\n"
"      - '(\\S+),(\\S+)x'\n"
"      - 'version'\n"
"    SETCONF:\n"
"      - 'nothing'\n"
"  confs:\n"
"    Nickname: ['(\\S+),(\\S+)x', '.*']\n"
"  events:\n"
"    NOTICE:\n"
"      response:\n"
"        - pattern: '650 NOTICE (\\S+),(\\S+)x'\n"
"          replacement: 'rewritten'\n";

static verdict_kind_t
check_line(const profile_t *p, const char *line, verdict_t *v)
{
	proto_cmd_t cmd = { 0 };
	policy_ctx_t ctx = { 0 };
	const cmd_def_t *def;

	cmd.line = (char *)line;
	cmd.line_len = strlen(line);
	proto_split_command(cmd.line, cmd.line_len, &cmd.keyword,
	    &cmd.keyword_len, &cmd.args, &cmd.args_len);
	def = cmdtab_lookup(cmd.keyword, cmd.keyword_len);
	ck_assert_ptr_nonnull(def);
	policy_check(p, def, &cmd, &ctx, v);
	return v->kind;
}

START_TEST(test_match_limit_denies)
{
	profile_set_t *set = load(limit_yaml);
	const profile_t *p = profile_set_find(set, "l");
	size_t n = 65000;
	char *line = malloc(n + 64), *ev;
	const event_rule_t *er;
	verdict_t v;
	size_t outlen = 99;

	ck_assert_ptr_nonnull(p);
	/* Whonix bisq's pattern on a hostile line. */
	memcpy(line, "ADD_ONION x Port=", 17);
	memset(line + 17, ',', n);
	strcpy(line + 17 + n, " y");
	ck_assert_int_eq(check_line(p, line, &v), VERDICT_DENY);
	ck_assert_ptr_nonnull(strstr(v.why, "match limit"));
	verdict_clear(&v);
	ck_assert_int_eq(check_line(p, "ADD_ONION NEW:BEST Port=80,8080", &v),
	    VERDICT_FORWARD);
	verdict_clear(&v);
	/* Key by key: the limit on one key denies the command. (The 'x'
	 * first: PCRE2 fails at once on a subject without the 'x' every
	 * match needs.) */
	snprintf(line, n + 64, "GETINFO version x");
	memset(line + 17, ',', n - 20);
	line[17 + n - 20] = '\0';
	ck_assert_int_eq(check_line(p, line, &v), VERDICT_DENY);
	ck_assert_ptr_nonnull(strstr(v.why, "match limit"));
	verdict_clear(&v);
	/* confs: a value that hits the limit is not tried on '.*'. */
	snprintf(line, n + 64, "SETCONF Nickname=x");
	memset(line + 18, ',', n - 20);
	line[18 + n - 20] = '\0';
	ck_assert_int_eq(check_line(p, line, &v), VERDICT_DENY);
	ck_assert_ptr_nonnull(strstr(v.why, "match limit"));
	verdict_clear(&v);
	ck_assert_int_eq(check_line(p, "SETCONF Nickname=abc", &v),
	    VERDICT_FORWARD);
	verdict_clear(&v);
	/* A response rule that gives up passes nothing of the line. */
	er = profile_find_event(p, "NOTICE", 6);
	ck_assert_ptr_nonnull(er);
	ev = malloc(n + 32);
	memcpy(ev, "650 NOTICE x", 12);
	memset(ev + 12, ',', n - 1);
	{
		char *r = policy_rewrite_line(&er->response, ev, 11 + n, NULL,
		    &outlen);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(outlen, 0);
		free(r);
		r = policy_rewrite_line(&er->response, "650 NOTICE a,bx", 15,
		    NULL, &outlen);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r, "rewritten");
		free(r);
	}
	free(ev);
	free(line);
	profile_set_unref(set);
}
END_TEST

START_TEST(test_select)
{
	const scase_t *c = &scases[_i];
	profile_set_t *set = load(select_yaml);
	const profile_t *p;
	peer_t peer;
	char names[256];
	select_result_t r;

	memset(&peer, 0, sizeof(peer));
	peer.local = c->local;
	snprintf(peer.label, sizeof(peer.label), "%s", c->label);
	snprintf(peer.exe, sizeof(peer.exe), "%s", c->exe);
	snprintf(peer.user, sizeof(peer.user), "%s", c->user);
	snprintf(peer.host, sizeof(peer.host), "%s", c->host);
	r = policy_select_profile(set, &peer, &p, names, sizeof(names));
	ck_assert_msg(r == c->want, "case %d: got %d want %d (%s)", _i, r,
	    c->want, names);
	if (c->name)
		ck_assert_str_eq(p->name, c->name);
	else
		ck_assert_ptr_eq(p, profile_empty());
	if (r == SELECT_COLLISION)
		ck_assert(strchr(names, ',') != NULL);
	profile_set_unref(set);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_verdicts, 0,
	    (int)(sizeof(vcases) / sizeof(vcases[0])));
	tcase_add_test(tc, test_loadconf_resets);
	tcase_add_test(tc, test_response_rewrite);
	tcase_add_test(tc, test_match_limit_denies);
	tcase_add_loop_test(tc, test_select, 0,
	    (int)(sizeof(scases) / sizeof(scases[0])));
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
