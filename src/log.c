/*
 * log.c: stderr or syslog output, with a debug level switched on by
 * --debug. Modelled on the warn/warnx/fatal family of OpenBSD daemons.
 *
 * In the foreground, a line goes to stderr in one of two forms: for a
 * person (a terminal, a file, a pipe) "torgate: warning: MESSAGE"; for
 * the journal (stderr is the stream systemd named in JOURNAL_STREAM)
 * "<4>MESSAGE", the priority prefix of sd-daemon(3), which journald
 * strips and files the line under (the journal adds the name itself).
 * Either way a message is one line: a line break in it (a client's
 * bytes quoted in a message) would start a line of its own, under
 * another priority.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool log_foreground = true;
static bool log_debug_on = false;
static bool log_journal = false;

bool
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	/* "DEV:INO" of the stream systemd connected; stderr may have been
	 * redirected elsewhere since (then it is not the journal). */
	if (e == NULL || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(bool foreground, bool debug)
{
	log_foreground = foreground;
	log_debug_on = debug;
	log_journal = foreground && log_stderr_is_journal();
	if (!foreground)
		openlog("torgate", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool
log_is_debug(void)
{
	return log_debug_on;
}

static void vlog(int, const char *, va_list, const char *)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, const char *errstr)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_foreground && log_journal) {
		if (errstr)
			fprintf(stderr, "<%d>%s: %s\n", pri, msg, errstr);
		else
			fprintf(stderr, "<%d>%s\n", pri, msg);
		fflush(stderr);
	} else if (log_foreground) {
		static const char *names[] = {
			[LOG_ERR] = "fatal", [LOG_WARNING] = "warning",
			[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
		};
		if (errstr)
			fprintf(stderr, "torgate: %s: %s: %s\n", names[pri], msg,
			    errstr);
		else
			fprintf(stderr, "torgate: %s: %s\n", names[pri], msg);
		fflush(stderr);
	} else if (errstr) {
		syslog(pri, "%s: %s", msg, errstr);
	} else {
		syslog(pri, "%s", msg);
	}
}

#define DEFINE_LOG(name, pri, witherr, cond)                            \
	void name(const char *fmt, ...)                                 \
	{                                                               \
		va_list ap;                                             \
		int saved = errno;                                      \
		if (!(cond))                                            \
			return;                                         \
		va_start(ap, fmt);                                      \
		vlog(pri, fmt, ap, witherr ? strerror(saved) : NULL);   \
		va_end(ap);                                             \
		errno = saved;                                          \
	}

DEFINE_LOG(log_warn, LOG_WARNING, 1, 1)
DEFINE_LOG(log_warnx, LOG_WARNING, 0, 1)
DEFINE_LOG(log_info, LOG_INFO, 0, 1)
DEFINE_LOG(log_debug, LOG_DEBUG, 0, log_debug_on)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
