/* Error convention (crun style): a fallible function takes bu_error_t *err and returns < 0
 * with err filled. `invalid` says whether the layer is to blame (hostile or malformed
 * tar: InvalidArgument) or the host (ENOSPC, EIO...: Internal). */
#ifndef BU_ERROR_H
#define BU_ERROR_H

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define BU_MSG_MAX 1024

typedef struct
{
  int status;  /* errno, 0 if none */
  int invalid; /* 1: the layer's fault */
  char msg[BU_MSG_MAX];
} bu_error_t;

/* A malformed or hostile archive. Returns -1. */
int bu_invalid (bu_error_t *err, int errno_value, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* A syscall failed: classified from errno (host-side errnos are internal). Returns -1. */
int bu_sys (bu_error_t *err, int errno_value, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Prefixes context ("outer: inner"). Returns -1. */
int bu_wrap (bu_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

int write_all (int fd, const void *buf, size_t len);

static inline void
bu_close_fdp (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
static inline void
bu_freep (void *p)
{
  free (*(void **) p);
}
#define cleanup_close __attribute__ ((cleanup (bu_close_fdp)))
#define cleanup_free __attribute__ ((cleanup (bu_freep)))

#endif
