/*
 * Logging: stderr in the foreground, syslog otherwise.  Never pass PINs,
 * keys or passphrases to any of these.
 */
#ifndef CML_LOG_H
#define CML_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_WARNING = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_DEBUG = 2,
};

/* Returns the time now in milliseconds since the epoch (UTC). */
long long log_now_ms(void);
/*
 * Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds
 * (2024-05-01T12:00:00.123Z; buf >= 32 bytes).
 */
void log_format_time(long long ms, char *buf, size_t len);

/* Starts logging as ident; foreground logs to stderr, else to syslog. */
void log_init(const char *ident, int foreground, enum log_level level);
/* Changes the verbosity at run time. */
void log_set_level(enum log_level level);
/* Returns the current verbosity. */
enum log_level log_get_level(void);
/* Parses "warning", "info" or "debug"; returns -1 if unknown. */
int log_level_parse(const char *name, enum log_level *level);
/* Returns the name of a level. */
const char *log_level_name(enum log_level level);

/* Logs a warning with strerror(errno) appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs a warning. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at info level. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at debug level. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs with strerror(errno) appended and exits 1. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Logs and exits 1. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
