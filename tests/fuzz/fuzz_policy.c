/*
 * fuzz_policy.c: the argument parsers behind verdicts — tor's SETCONF
 * grammar (kvline), word lists, the control-port guard, SETEVENTS and
 * the whole policy_check() — on one command line per input. The first
 * line is the command; anything after it is a multi-line body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "guard.h"
#include "kvline.h"
#include "policy.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
"- name: f\n"
"  commands:\n"
"    GETINFO: ['version', 'config-file', {pattern: 'ns/id/(\\w+)', "
"replacement: 'ns/id/{}', response: [{pattern: '250-(.*)', "
"replacement: '250-{}'}]}]\n"
"    ADD_ONION: [{pattern: 'NEW:(\\S+) Port=(\\d+),(\\S+)', "
"replacement: 'NEW:{} Port={},{client-address}:{}'}, '.*']\n"
"    DEL_ONION: ['\\S+']\n"
"    SETCONF: ['HiddenServicePort=.*']\n"
"    LOADCONF: ['(?s).*']\n"
"  confs:\n"
"    DisableNetwork: ['0', '1']\n"
"    Bridge: ['.*', '']\n"
"    __OwningControllerProcess:\n"
"  events:\n"
"    STREAM:\n"
"    SIGNAL: {suppress: true}\n";

static profile_set_t *set;
static guard_targets_t guard;

static bool
owns(void *arg, const char *sid, size_t len)
{
	return len > 0 && (sid[0] & 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	template_vars_t vars = { { "10.0.0.1", "1234", "127.0.0.1", "951" } };
	policy_ctx_t ctx = { .vars = &vars, .guard = &guard, .owns_onion = owns };
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t linelen = nl ? (size_t)(nl - in) : size;
	proto_cmd_t cmd;
	const cmd_def_t *def;
	verdict_t v;
	kvlist_t kv;
	words_t w;
	setevents_t se;
	char why[256];

	if (set == NULL) {
		profile_diag_t d = { 0 };
		tg_addr_t a;
		char err[64];
		set = profile_set_load_buffer("f.yml", yaml, sizeof(yaml) - 1,
		    &d);
		if (set == NULL)
			abort();
		addr_parse("127.0.0.1:9051", &a, err, sizeof(err));
		guard_targets_add(&guard, &a);
		static const char tor[] =
		    "\"unix:/run/tor/control\" \"[::1]:9052\"";
		guard_targets_add_tor_list(&guard, tor, sizeof(tor) - 1);
	}
	if (memchr(in, '\0', linelen) != NULL)
		return 0;       /* the framing layer never passes NULs */
	memset(&cmd, 0, sizeof(cmd));
	cmd.line = strndup(in, linelen);
	cmd.line_len = linelen;
	cmd.multiline = linelen > 0 && in[0] == '+';
	proto_split_command(cmd.line, linelen, &cmd.keyword, &cmd.keyword_len,
	    &cmd.args, &cmd.args_len);
	if (cmd.multiline && nl != NULL) {
		cmd.body = strndup(nl + 1, size - linelen - 1);
		cmd.body_len = strlen(cmd.body);
	}

	if (kvline_parse(cmd.args, cmd.args_len, &kv) == 0)
		kvlist_clear(&kv);
	words_split(cmd.args, cmd.args_len, &w);
	words_clear(&w);
	guard_add_onion_ok(&guard, NULL, cmd.args, cmd.args_len, why,
	    sizeof(why));
	guard_port_ok(&guard, NULL, cmd.args, cmd.args_len, ' ', why,
	    sizeof(why));
	if (events_setevents(set->v[0], cmd.args, cmd.args_len, 0, &se) == 0)
		free(se.upstream_args);

	def = cmdtab_lookup(cmd.keyword, cmd.keyword_len);
	if (def != NULL) {
		policy_check(set->v[0], def, &cmd, &ctx, &v);
		if (v.args != NULL && (memchr(v.args, '\n', v.args_len) ||
		    memchr(v.args, '\r', v.args_len)))
			abort();        /* a rewrite must never add a line */
		verdict_clear(&v);
	}
	proto_cmd_clear(&cmd);
	return 0;
}
