/*
 * aarole.h: each process enters its own AppArmor role.
 */
#ifndef TORGATE_AAROLE_H
#define TORGATE_AAROLE_H

/* Enter role ("worker", "monitor"): 0, doing nothing where AppArmor is
 * not enabled; -1 with errno on failure. */
int aarole_enter(const char *role);

#endif
