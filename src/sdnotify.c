/*
 * sdnotify.c: see sdnotify.h. A thin layer over libsystemd's sd_notify()
 * that remembers the last status line, so that a periodic update costs
 * nothing when nothing changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"

static char last_status[SDNOTIFY_STATUS_MAX + 1];

bool
sdnotify_enabled(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e != NULL && *e != '\0';
}

static void
send_state(const char *state)
{
	int rc;

	if (!sdnotify_enabled())
		return;
	rc = sd_notify(0, state);
	if (rc < 0)
		log_warnx("sd_notify: %s", strerror(-rc));
}

/* "STATUS=..." with the text cut to SDNOTIFY_STATUS_MAX and no newline
 * (each line of a notification is one assignment). */
static void
status_line(char *buf, size_t len, const char *status)
{
	size_t n = snprintf(buf, len, "STATUS=%.*s", SDNOTIFY_STATUS_MAX,
	    status);

	for (size_t i = 7; i < n && i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	snprintf(last_status, sizeof(last_status), "%.*s", SDNOTIFY_STATUS_MAX,
	    buf + 7);
}

void
sdnotify_ready(const char *status)
{
	char msg[SDNOTIFY_STATUS_MAX + 32];
	char st[SDNOTIFY_STATUS_MAX + 16];

	status_line(st, sizeof(st), status);
	snprintf(msg, sizeof(msg), "READY=1\n%s", st);
	send_state(msg);
}

void
sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	/* systemd checks that the reload it sees is the one it asked for
	 * by this clock (CLOCK_MONOTONIC, in microseconds). */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		ts.tv_sec = ts.tv_nsec = 0;
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(msg);
}

void
sdnotify_stopping(void)
{
	send_state("STOPPING=1");
}

void
sdnotify_status(const char *status)
{
	char st[SDNOTIFY_STATUS_MAX + 16];
	char prev[sizeof(last_status)];

	memcpy(prev, last_status, sizeof(prev));
	status_line(st, sizeof(st), status);
	if (strcmp(prev, last_status) != 0)
		send_state(st);
}
