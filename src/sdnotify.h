/*
 * sdnotify.h: telling systemd how the daemon is doing (Type=notify,
 * sd_notify(3)): ready, reloading, stopping, and a one-line status.
 * Without NOTIFY_SOCKET in the environment every call does nothing.
 *
 * The worker sends: it is the process systemd started (the monitor is
 * its child), so the unit's NotifyAccess=main fits. The messages go out
 * on a new AF_UNIX datagram socket each time (libsystemd), which the
 * worker's seccomp filter allows (socket AF_UNIX, sendmsg).
 */
#ifndef TORGATE_SDNOTIFY_H
#define TORGATE_SDNOTIFY_H

#include <stdbool.h>

/* The longest STATUS= text sent; longer is cut. */
#define SDNOTIFY_STATUS_MAX 200

/* Is there a service manager to tell (NOTIFY_SOCKET set)? */
bool sdnotify_enabled(void);
/* Set-up is done, or a reload is over: READY=1 and STATUS=status. */
void sdnotify_ready(const char *status);
/* A reload starts: RELOADING=1 with MONOTONIC_USEC= (systemd 253). */
void sdnotify_reloading(void);
/* Shutting down: STOPPING=1. */
void sdnotify_stopping(void);
/* STATUS=status, if it differs from the last one sent. */
void sdnotify_status(const char *status);

#endif
