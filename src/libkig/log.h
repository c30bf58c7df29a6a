/* Logging for kig programs. One line per message, prefixed with the program name. Functions that fail
 * log where the context is known and return -errno, so callers can pass the code up unchanged. */
#pragma once

#include "macro.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *program_name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send messages to this stream instead of stderr (NULL restores stderr). */
void log_set_stream(FILE *stream);

/* Logs and returns -|err| (or -EIO when err is 0). "%m" in fmt expands to strerror(|err|). */
int log_full_errno(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);
void log_full(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_full(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_full(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_full(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                       \
    do {                                                                                                     \
        if (log_get_level() >= LOG_LEVEL_DEBUG)                                                              \
            log_full(LOG_LEVEL_DEBUG, __VA_ARGS__);                                                          \
    } while (0)

#define log_error_errno(err, ...) log_full_errno(LOG_LEVEL_ERROR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...)  log_full_errno(LOG_LEVEL_WARN, (err), __VA_ARGS__)
#define log_debug_errno(err, ...) log_full_errno(LOG_LEVEL_DEBUG, (err), __VA_ARGS__)
