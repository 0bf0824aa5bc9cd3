/* Identity and capabilities by raw syscalls: bounding set, uid/gid/groups,
 * effective/permitted/inheritable via capset(2), ambient, no_new_privs. */
#ifndef BERTH_CAPS_H
#define BERTH_CAPS_H

#include "error.h"
#include "plan.h"

int caps_apply (const struct plan *p, unsigned last_cap, berth_error_t *err);
/* execve with a PATH search in the *container's* environment. */
int exec_process (const struct plan *p, berth_error_t *err);

#endif
