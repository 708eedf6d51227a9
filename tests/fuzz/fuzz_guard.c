/*
 * fuzz_guard.c: the guard's readers of ports and targets (guard.c) on
 * arbitrary bytes. The first byte chooses how: ADD_ONION arguments, a
 * HiddenServicePort value (' '), or one Port= value (','); with or
 * without client unix targets; with the list stale (16), when no port
 * specification may pass; or SETCONF arguments to
 * guard_conf_changes_listeners() (32). Unix paths go to a resolver that
 * knows a few paths, standing for the file system. Invariant: a denial
 * always says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guard_targets_t g;

static int
resolve(const char *path, addr_file_id_t *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(path, "/run/tor/control") != 0 &&
	    strcmp(path, "/tmp/link") != 0 && strcmp(path, "/run/a") != 0)
		return -1;
	snprintf(out->path, sizeof(out->path), "%s",
	    path[5] == 'a' ? "/run/a" : "/run/tor/control");
	out->dev = 1;
	out->ino = path[5] == 'a' ? 2 : 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	guard_opts_t o = { 0 };
	const char *in = (const char *)data + 1;
	char why[256];
	bool ok;

	if (g.resolve == NULL) {
		static const char tor[] = "\"127.0.0.1:9051\" "
		    "\"unix:/run/tor/control\" \"[::]:9052\" \"10.0.0.1:9053\"";
		g.resolve = resolve;
		guard_targets_add_tor_list(&g, tor, sizeof(tor) - 1);
	}
	if (size == 0)
		return 0;
	if (data[0] & 32) {
		(void)guard_conf_changes_listeners(in, size - 1);
		return 0;
	}
	o.client_unix = data[0] & 4;
	o.fixed = data[0] & 8 ? "NEW:{} Port=80,unix:/run/a" : NULL;
	g.stale = data[0] & 16 ? GUARD_STALE_WHY : NULL;
	why[0] = '\0';
	switch (data[0] & 3) {
	case 0:
		ok = guard_add_onion_ok(&g, &o, in, size - 1, why,
		    sizeof(why));
		break;
	case 1:
		ok = guard_port_ok(&g, &o, in, size - 1, ' ', why,
		    sizeof(why));
		break;
	default:
		ok = guard_port_ok(&g, &o, in, size - 1, ',', why,
		    sizeof(why));
		break;
	}
	if (!ok && why[0] == '\0')
		abort();
	if (ok && g.stale != NULL && (data[0] & 3) != 0)
		abort();
	return 0;
}
