/* Namespaces: which to create at clone(), which to join by path, id maps, names. */
#ifndef BERTH_NS_H
#define BERTH_NS_H


#include <sched.h>
#include <sys/types.h>
#include "error.h"
#include "plan.h"

/* CLONE_NEW* flags for the namespaces the plan creates (paths empty). */
int ns_new_flags (const struct plan *p);

/* Namespaces made ahead of the plan by an idle spare helper, which lives in them (ns_premake). */
#define PREMADE_NS_MAX 3
struct premade_ns
{
  int flags;                /* CLONE_NEW* the helper has entered and still holds */
  int host[PREMADE_NS_MAX]; /* the host's namespaces, to go back to, or -1 */
};
/* If nothing arrives on plan_fd within idle_ms: unshares network, uts and ipc (pm->flags says
   which it could). Returns 1 if it waited that long (the helper is a spare with time on its
   hands), 0 if the plan was there first. */
int ns_premake (struct premade_ns *pm, int plan_fd, int idle_ms);
/* Once the plan is known: keeps those of the premade namespaces in `want` (the child inherits
   them instead of cloning new ones) and goes back to the host's for the others. */
int ns_settle_premade (struct premade_ns *pm, int want, berth_error_t *err);
void ns_drop_premade (struct premade_ns *pm);
/* In the helper, before clone: join a pid namespace by path (affects children only). */
int ns_join_pid (const struct plan *p, berth_error_t *err);
/* In the helper, before cloning a new user namespace: join a network namespace given by path
   (a pinned one the host's root owns, which a process in the new user namespace could not
   enter); the child inherits it. The monitor stays in it: it uses only path sockets. */
int ns_join_net (const struct plan *p, berth_error_t *err);
/* In the child: join every other namespace given by path (user first, mount last), but those in
   `skip` (joined before clone). */
int ns_join (const struct plan *p, int skip, berth_error_t *err);
int ns_write_idmaps (const struct plan *p, pid_t pid, berth_error_t *err);
/* The host id a container id 0 maps to in these maps, or -1 (no root inside). */
long ns_host_root (const struct plan_idmap *maps, size_t n);
int ns_set_names (const struct plan *p, berth_error_t *err);

#endif
