/* For mount specs berth cannot apply to directly: mount them in a private mount namespace of
 * this process (it dies with the process, so nothing can leak) and apply in plain mode. */
#ifndef BU_MOUNT_H
#define BU_MOUNT_H

#include "error.h"

/* Mounts type/source with options at a fresh dir under tmpdir; writes its path to out. */
int mount_private (const char *type, const char *source, char *const *options, int noptions, const char *tmpdir,
                   char *out, size_t outlen, bu_error_t *err);
void unmount_private (const char *path);

#endif
