/* Docker's json-file log, written by the monitor itself (logfile.c). */
#ifndef BERTH_LOGFILE_H
#define BERTH_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "plan.h"

/* Docker's copier splits a line without newline at 16 KiB (daemon/logger/copier.go). */
#define LOG_LINE_MAX (16 * 1024)

enum { LOG_STDOUT = 0, LOG_STDERR = 1 };

struct log_line
{
  size_t n;
  int partial;            /* an earlier piece of this line was written already */
  struct timespec ts;     /* the first piece's time, which every later piece carries (as Docker) */
  char buf[LOG_LINE_MAX];
};

struct logfile
{
  int fd; /* -1: no log */
  const char *path;
  int64_t size, max_size; /* max_size 0: never rotate */
  unsigned max_files;
  unsigned long write_errors;
  struct log_line line[2];
};

/* Opens (appends to) the log; on failure the container runs without one (fd -1), as a full disk
   must not stop it. */
void logfile_open (struct logfile *lf, const struct plan_capture *c);
/* Takes output of one stream: complete lines are written, a line reaching LOG_LINE_MAX is
   written as a partial piece. */
void logfile_feed (struct logfile *lf, int stream, const char *data, size_t len);
/* The stream ended: what is left of its last line is written without a newline. */
void logfile_eof (struct logfile *lf, int stream);
void logfile_close (struct logfile *lf);

/* Exposed for the unit test: appends s as a JSON string (quotes included) the way Docker's
   jsonlog does; returns the new length, or 0 when cap is too small. */
size_t logfile_json_string (char *out, size_t off, size_t cap, const char *s, size_t len);
/* RFC 3339 with nanoseconds, trailing zeros trimmed (Go's time.RFC3339Nano), quoted. */
size_t logfile_time (char *out, size_t cap, const struct timespec *ts);

#endif
