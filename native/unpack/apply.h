/* Applies tar entries under a root directory. */
#ifndef BU_APPLY_H
#define BU_APPLY_H

#include <stdint.h>
#include <time.h>
#include "error.h"
#include "pathset.h"
#include "reader.h"
#include "resolve.h"
#include "tar.h"

struct dirtime
{
  char *path;
  struct timespec ts[2];
};

struct applier
{
  int rootfd;    /* O_PATH, opened once: every lookup starts here */
  int overlay;   /* 1: the root is an overlay upper dir (whiteouts become 0:0 char devices) */
  int root_user; /* chown only when running as root */
  struct pathset written;
  struct dirtime *dirs;
  size_t ndirs, capdirs;
  uint64_t entries;
  /* What a staged extraction (no lowers, overlay mode) must know to be reused elsewhere. */
  uint64_t whiteouts; /* .wh. entries, opaque markers included */
  int root_entry;     /* the archive set the root's own metadata */
  struct parents parents; /* lower dirs (overlay mode), top first */
  /* --min-free: bytes to leave free on the root's filesystem (0: no check), and how much may
   * still be written before statfs is asked again. */
  uint64_t min_free;
  uint64_t budget;
};

int applier_init (struct applier *a, const char *root, int overlay, bu_error_t *err);
/* Applies one entry and consumes its data and padding. */
int apply_entry (struct applier *a, struct tar_entry *e, struct reader *r, bu_error_t *err);
/* Sets directory times, deepest last-seen first (after their contents were written). */
int apply_finish (struct applier *a, bu_error_t *err);
void applier_free (struct applier *a);

/* whiteout.c */
int remove_all_at (int dfd, const char *name, bu_error_t *err);
int apply_whiteout (struct applier *a, const char *parent, const char *base, const struct tar_entry *e, bu_error_t *err);
/* Records path and all its ancestors as written by this layer. */
int mark_written (struct applier *a, const char *path, bu_error_t *err);

/* main.c: one JSON line on stdout. */
void emit_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
