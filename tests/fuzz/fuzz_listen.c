/*
 * fuzz_listen.c: fuzz what torgate reads to set up a listener: a listen
 * spec (listen_spec_parse: the address and its mode=, group=, profile=
 * options, from -l or the config file) and the name systemd gives a
 * passed socket (listener_fdname_profile, from LISTEN_FDNAMES).
 *
 * The input is taken whole as one NUL-terminated string for both. A
 * parsed spec must be a unix or TCP address with a mode within 0777 and
 * group= only on a unix socket; a name that binds a profile must start
 * with "profile=" and the profile must be what follows it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "listener.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char err[512];
	listen_spec_t spec;
	const char *profile;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (listen_spec_parse(s, &spec, err, sizeof(err)) == 0) {
		if (spec.addr.family != AF_UNIX && spec.addr.family != AF_INET &&
		    spec.addr.family != AF_INET6)
			abort();
		if ((spec.mode & ~0777) != 0)
			abort();
		if (spec.group != NULL && (spec.addr.family != AF_UNIX ||
		    spec.group[0] == '\0'))
			abort();
		listen_spec_clear(&spec);
	}

	if (listener_fdname_profile(s, &profile) == 0 && profile != NULL) {
		if (strncmp(s, "profile=", 8) != 0 || profile != s + 8 ||
		    *profile == '\0')
			abort();
	}
	free(s);
	return 0;
}
