/*
 * sandbox.h: the seccomp allowlists of torgate's two processes.
 *
 * Each process loads its filter once, after privdrop.h has dropped its
 * privileges (and set NO_NEW_PRIVS), and keeps it for the rest of its
 * life. A system call the filter does not list kills the whole process
 * (SCMP_ACT_KILL_PROCESS: the process dies of SIGSYS); its partner sees
 * the socketpair close and exits too.
 *
 * A build with -Dsandbox_debug=true traps instead: a SIGSYS handler names
 * the call on stderr, then the process dies of SIGSYS all the same.
 * --no-sandbox loads no filter at all (privileges are still dropped): for
 * finding a missing entry, and for ASan and valgrind, whose runtimes make
 * calls no allowlist of torgate's should contain.
 */
#ifndef TORGATE_SANDBOX_H
#define TORGATE_SANDBOX_H

#include <sys/types.h>

typedef enum {
	SANDBOX_WORKER,         /* the event loop: clients and tor */
	SANDBOX_MONITOR,        /* the identifying process */
} sandbox_role_t;

/* Load role's filter into this process. monitor_pid (worker only): the
 * one process the worker may signal (SIGKILL, when it stops). Fatal if
 * the filter cannot be built or loaded. */
void sandbox_enter(sandbox_role_t role, pid_t monitor_pid);

#endif
