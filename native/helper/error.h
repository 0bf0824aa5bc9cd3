/* Error convention (crun style): a fallible function takes berth_error_t *err and
 * returns < 0 with err filled ({errno, stage, msg}). No allocation: the message
 * lives in a fixed buffer so errors can be raised anywhere, even after clone(). */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stddef.h>
#include <unistd.h>
#include <stdlib.h>

#define BERTH_MSG_MAX 512

typedef struct
{
  int status;         /* errno value, 0 when not an errno-style failure */
  const char *stage;  /* ns|cgroup|mount|caps|exec|plan|stdio|... */
  char msg[BERTH_MSG_MAX];
} berth_error_t;

/* Fills err and returns -1. */
int berth_error (berth_error_t *err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefixes the existing message with context ("outer: inner"); returns -1. */
int berth_error_wrap (berth_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Sets the stage if none was set yet; returns -1. */
int berth_error_stage (berth_error_t *err, const char *stage);

static inline void
berth_close_fdp (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
static inline void
berth_freep (void *p)
{
  free (*(void **) p);
}
#define cleanup_close __attribute__ ((cleanup (berth_close_fdp)))
#define cleanup_free __attribute__ ((cleanup (berth_freep)))

/* Writes all of buf, retrying on EINTR / short writes. */
int write_all (int fd, const void *buf, size_t len);
/* Reads a small file (< cap bytes) into buf, NUL-terminated; returns length or -1 (errno). */
ssize_t read_small_file (const char *path, char *buf, size_t cap);
/* Writes a string to an existing file (cgroup/proc knobs); returns 0 or -1 (errno). */
int write_file (const char *path, const char *value);

#endif
