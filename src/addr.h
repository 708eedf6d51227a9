/*
 * addr.h: the address forms torgate accepts on its command line and in its
 * config file:  unix:/PATH | HOST:PORT | [V6]:PORT, and for listeners
 * options after commas: unix:/PATH,mode=0660,group=NAME,profile=NAME.
 * HOST is a numeric IPv4/IPv6 address or "localhost"; no DNS is done.
 */
#ifndef TORGATE_ADDR_H
#define TORGATE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef struct tg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;        /* AF_UNIX, AF_INET or AF_INET6 */
	char text[256];    /* canonical form, for logs */
} tg_addr_t;

/* What a path names now: the canonical path and the file's identity. */
typedef struct addr_file_id {
	char path[4096];
	unsigned long long dev, ino;
} addr_file_id_t;

typedef struct listen_spec {
	tg_addr_t addr;
	mode_t mode;       /* unix sockets: permissions, default 0660 */
	char *group;       /* unix sockets: NULL, or the group (name or
	                    * number) the socket file is given */
	char *profile;     /* NULL, or the profile every client gets */
} listen_spec_t;

/* Parse s into *out; 0, or -1 with a message in err. */
int addr_parse(const char *s, tg_addr_t *out, char *err, size_t errlen);
/* Parse a listener spec (address plus ",key=value" options). */
int listen_spec_parse(const char *s, listen_spec_t *out, char *err,
    size_t errlen);
void listen_spec_clear(listen_spec_t *l);

/* Format a socket address as "unix:/path", "1.2.3.4:5" or "[::1]:5". */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen);
/* Numeric host part only ("1.2.3.4", "::1"; IPv4-mapped IPv6 shown as
 * IPv4), and port; for unix sockets host is "unix" and port 0. */
void addr_host_port(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostlen, unsigned *port);
/* Resolve the absolute path (symlinks, "..", repeated slashes) to the
 * file it names now (realpath, stat): 0, or -1 if it is relative, missing
 * or not reachable. Does I/O. */
int addr_file_id(const char *path, addr_file_id_t *out);

/* Is this a loopback or unix-socket peer? */
bool addr_is_local(const struct sockaddr *sa);

#endif
