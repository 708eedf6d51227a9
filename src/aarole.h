/*
 * aarole.h: each of torgate's two processes confines itself to its own
 * AppArmor sub-profile.
 *
 * apparmor.d/usr.sbin.torgate holds profile "torgate" (what the process
 * needs before it splits) and two child profiles: "torgate//worker" (the
 * event loop: clients, tor, profiles, state) and "torgate//monitor" (the
 * identifying process: /proc of other processes, nothing else). Right
 * after the fork, each process calls aarole_enter() with its role.
 *
 * How a role is entered: aa_stack_profile("torgate//ROLE"), which leaves
 * the process under the label "torgate//&torgate//ROLE", i.e. only what
 * both profiles allow, which is the child's rules (each child allows a
 * part of what its parent does). Why stacking:
 *  - change_hat can be undone: the hat is left again with the token
 *    passed in, and that token lives in the process's memory, where a
 *    compromised worker could read it;
 *  - change_profile is one-way, but the kernel refuses it to a process
 *    with no_new_privs set (the systemd unit's NoNewPrivileges=yes, and
 *    any process that loads a seccomp filter unprivileged) unless the new
 *    label keeps the old one's profiles, which "torgate//worker" alone
 *    does not;
 *  - stacking only ever narrows, so no_new_privs allows it, and it is
 *    one-way too: no way back out of a stack exists, and a later
 *    change_profile would need every profile in the stack to allow it,
 *    which the children do not (no change_profile rule).
 * A label that already has other profiles stacked (a container's, say)
 * keeps them: the role is stacked on top.
 */
#ifndef TORGATE_AAROLE_H
#define TORGATE_AAROLE_H

#include <stdbool.h>
#include <stddef.h>

/* The name of torgate's own profile (apparmor.d/usr.sbin.torgate). */
#define AAROLE_PROFILE "torgate"

/*
 * Enter role ("monitor" or "worker") in the calling process:
 *  - AppArmor not enabled (aa_is_enabled() false: not in the kernel,
 *    disabled at boot, or its file system not mounted here, as in most
 *    containers): do nothing, return 0;
 *  - the process unconfined (no profile loaded for torgate): log that
 *    once at info, return 0;
 *  - confined by torgate's profile: stack the role's child profile,
 *    check that the label now has it, return 0;
 *  - already in that role: return 0.
 * Everything else returns -1 after a warning, and the caller must exit
 * (fail closed): a role name other than the two, a label that cannot be
 * read, a profile other than torgate's (its roles cannot be known), a
 * process already in the other role, a stack the kernel refuses or that
 * did not take.
 */
int aarole_enter(const char *role);

/* Is role one of torgate's roles, spelt exactly ("monitor", "worker")? */
bool aarole_is_valid(const char *role);

/* What aarole_enter() does for a process whose label (as aa_getcon()
 * gives it, without the mode) is label. */
typedef enum aarole_plan {
	AAROLE_BAD_ROLE,        /* role is not one of the two */
	AAROLE_UNCONFINED,      /* not confined: nothing to enter */
	AAROLE_STACK,           /* torgate's profile: stack the role */
	AAROLE_ALREADY,         /* already in this very role */
	AAROLE_FOREIGN,         /* another profile, or another role */
} aarole_plan_t;

aarole_plan_t aarole_plan(const char *label, const char *role);

/* The label aarole_enter() stacks for role, "torgate//ROLE", into buf;
 * -1 if role is not valid or buf is too small. */
int aarole_target(const char *role, char *buf, size_t size);

/*
 * The three libapparmor calls aarole_enter() makes, replaceable so that
 * tests can run every branch without AppArmor in the kernel. NULL
 * restores libapparmor's own.
 */
typedef struct aarole_ops {
	int (*is_enabled)(void);
	int (*getcon)(char **label, char **mode);
	int (*stack_profile)(const char *profile);
} aarole_ops_t;

void aarole_set_ops(const aarole_ops_t *ops);

#endif
