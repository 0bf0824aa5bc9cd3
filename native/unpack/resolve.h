/* In-root path resolution. Every lookup goes through openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from the root fd opened once at start: symlinks, "..", absolute
 * targets all stay under the root, whatever the layer planted earlier. The final component
 * is then used only with *at() calls that do not follow it (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW,
 * O_EXCL, linkat without AT_SYMLINK_FOLLOW). */
#ifndef BU_RESOLVE_H
#define BU_RESOLVE_H

#include <stdint.h>
#include "error.h"

/* Lexically cleans a tar name into a root-relative path without ".", ".." or empty
 * components ("" = the root). ".." at the root is dropped, as filepath.Join("/", name) does.
 * out must hold strlen(in)+1 bytes. */
void clean_path (const char *in, char *out);

/* Splits a cleaned path: *base points into path (after the last '/'), parent is written to
 * parent ("" for the root). */
void split_path (const char *path, char *parent, const char **base);

/* containerd's fs.RootPath: resolves the symlinks of `path` as if the root were "/",
 * treating missing components lexically (so "missing/../x" and dangling symlinks resolve as
 * they do there, where the kernel would say ENOENT). The result is only a canonical path
 * string: every use still goes through openat2(RESOLVE_IN_ROOT), so it cannot widen access. */
int root_path (int rootfd, const char *path, char *out, size_t outlen, bu_error_t *err);

/* Directories to copy attributes from when a missing parent is created (overlay: the lower
 * layers, top first; containerd's mkparent with options.Parents). */
/* Directories open_dir_in_root created because an entry's parent was missing (reported, so Node
 * knows whether the result depended on the lower dirs' attributes). */
extern uint64_t bu_implicit_dirs;

struct parents
{
  const int *fds;
  size_t n;
};

/* Opens the directory `path` (cleaned, root-relative) in-root as O_PATH. With create, missing
 * components are created 0755 (containerd's MkdirAll of a missing parent), taking mode, owner
 * and times of the same directory in the first parent that has it. */
int open_dir_in_root (int rootfd, const char *path, int create, const struct parents *parents, bu_error_t *err);

/* Opens `path` in-root with the given open flags (O_DIRECTORY, O_RDONLY...), never following
 * magic links. Returns fd or -1 with errno set (no err: callers decide what ENOENT means). */
int openat2_in_root (int rootfd, const char *path, int flags);

#endif
