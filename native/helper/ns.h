/* Namespaces: which to create at clone(), which to join by path, id maps, names. */
#ifndef BERTH_NS_H
#define BERTH_NS_H


#include <sched.h>
#include <sys/types.h>
#include "error.h"
#include "plan.h"

/* CLONE_NEW* flags for the namespaces the plan creates (paths empty). */
int ns_new_flags (const struct plan *p);
/* In the helper, before clone: join a pid namespace by path (affects children only). */
int ns_join_pid (const struct plan *p, berth_error_t *err);
/* In the child: join every other namespace given by path (user first, mount last). */
int ns_join (const struct plan *p, berth_error_t *err);
int ns_write_idmaps (const struct plan *p, pid_t pid, berth_error_t *err);
int ns_set_names (const struct plan *p, berth_error_t *err);

#endif
