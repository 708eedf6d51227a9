/*
 * log.h: one place for every message torgate prints.
 *
 * warn*() add strerror(errno), *x() variants do not; fatal*() exit(1).
 * Messages go to stderr in the foreground, else to syslog (daemon facility).
 * On stderr a line carries its priority as "<N>" (sd-daemon(3)) when
 * stderr is the journal, and reads "torgate: LEVEL: ..." otherwise.
 * Callers never log secrets; log_traffic() redacts them (see redact.h).
 */
#ifndef TORGATE_LOG_H
#define TORGATE_LOG_H

#include <stdbool.h>
#include <stdarg.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

void log_init(bool foreground, bool debug);
/* Is stderr the journal stream JOURNAL_STREAM names (its DEV:INO)? */
bool log_stderr_is_journal(void);
bool log_is_debug(void);

void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void fatal(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));

#endif
