/* The container's filesystem view, built inside its new mount namespace. */
#ifndef BERTH_MOUNT_H
#define BERTH_MOUNT_H

#include "cgroup.h"
#include "error.h"
#include "plan.h"

enum { IN_ROOT_OPEN = 0, IN_ROOT_DIR = 1, IN_ROOT_FILE = 2 };

/* Opens path inside the rootfs (RESOLVE_IN_ROOT, symlinks cannot escape) as O_PATH,
 * creating missing parents / the final dir or file when asked. */
int open_in_root (int rootfd, const char *path, int create, int flags, berth_error_t *err);

int mount_rootfs (const struct plan *p, int *rootfd, berth_error_t *err);
/* User namespace containers (mount_detached.c): the helper builds the rootfs as a detached mount
 * with the host's credentials (returns its fd); the child attaches it onto its cwd (the rootfs
 * dir) inside its own mount namespace and gets *rootfd. */
int mount_detached_rootfs (const struct plan *p, berth_error_t *err);
/* Binds' sources, cloned with the host's credentials when `userns` (else marked none). */
int mount_detach_binds (struct plan *p, int userns, berth_error_t *err);
void mount_close_detached_binds (struct plan *p);
int mount_attach_rootfs (const struct plan *p, int mnt, int *rootfd, berth_error_t *err);
/* The same rootfs with its files shown through the container's id mapping (mount_idmap.c). */
int mount_idmapped_rootfs (const struct plan *p, int userns_fd, berth_error_t *err);
int mount_spec (const struct plan *p, int rootfd, const struct cgroup *cg, int new_cgroupns, berth_error_t *err);
int mount_devices (const struct plan *p, int rootfd, berth_error_t *err); /* mount_dev.c */
/* Allocates the pty inside the container's devpts; returns master, *slave set. */
int mount_console (const struct plan *p, int rootfd, int *slave, berth_error_t *err); /* mount_dev.c */
int mount_masked_readonly (const struct plan *p, int rootfd, berth_error_t *err);
int mount_pivot (const struct plan *p, int rootfd, berth_error_t *err);
/* Remounts / read-only when the spec asks (after masked/readonly paths). */
int mount_finish_rootfs (const struct plan *p, berth_error_t *err);
/* Mount options: MS_* flags, propagation, and the rest as a data string (for mount(2)). */
struct mopts { unsigned long flags, prop; char data[1024]; };
void mount_parse_options (char **options, size_t n, struct mopts *o);
/* Detached mounts (mount_detached.c): a new filesystem, or a clone of a tree. */
int detached_fs (const struct plan_mount *m, const struct mopts *o, berth_error_t *err);
int detached_bind (const char *source, int recursive, unsigned long flags, berth_error_t *err);
/* Mount flags parsing shared with mount_dev.c. */
unsigned long mount_locked_flags (const char *path);

#endif
