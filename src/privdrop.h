/*
 * privdrop.h: giving up privileges, each step checked.
 *
 * torgate runs as two processes (ARCHITECTURE.md): the worker, which
 * talks to clients and tor, and the monitor, which identifies clients.
 * Each calls one function here once, after the listeners are bound and
 * the monitor is forked, before its seccomp filter is loaded (sandbox.h):
 *
 *  - the worker becomes the --user (supplementary groups from the group
 *    database, then gid, then uid; getting uid 0 back must fail) and keeps
 *    no capability at all: effective, permitted, inheritable, ambient, and
 *    the bounding set where it holds CAP_SETPCAP to drop it;
 *  - the monitor keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (if it has
 *    them) and nothing else. Reading another user's /proc/PID/fd/N and
 *    /proc/PID/exe is a ptrace read-mode check (CAP_SYS_PTRACE); listing
 *    /proc/PID/fd, mode 0500 and owned by the client's user, is a DAC
 *    check on the directory (CAP_DAC_READ_SEARCH). Started as root it
 *    stays uid 0 but without the rest of root's capabilities.
 *
 * Both then set PR_SET_NO_NEW_PRIVS. Every failure is fatal: a partial
 * drop is worse than none.
 */
#ifndef TORGATE_PRIVDROP_H
#define TORGATE_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct privdrop_user {
	char name[64];
	uid_t uid;
	gid_t gid;
} privdrop_user_t;

/* Look up user name (NSS: before anything is dropped) into *u. -1 with a
 * message in err if there is no such user or it is root. */
int privdrop_lookup(const char *name, privdrop_user_t *u, char *err,
    size_t errlen);

/* Become u (NULL: stay who we are), drop every capability, set
 * NO_NEW_PRIVS, and verify. Fatal on any failure. */
void privdrop_worker(const privdrop_user_t *u);

/* Keep only the capabilities identification needs (see above), set
 * NO_NEW_PRIVS, and verify. Fatal on any failure. */
void privdrop_monitor(void);

/* Does the monitor hold what it needs to identify another user's
 * processes? (For the log at start.) */
bool privdrop_monitor_can_scan(void);

#endif
