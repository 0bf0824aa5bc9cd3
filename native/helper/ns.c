#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
ns_new_flags (const struct plan *p)
{
  int flags = 0;
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].path == NULL)
      flags |= p->ns[i].flag;
  return flags;
}

static int
join_one (const struct plan_ns *ns, berth_error_t *err)
{
  int fd = open (ns->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errno, "open namespace `%s`", ns->path);
  if (setns (fd, ns->flag) < 0)
    {
      int saved = errno;
      close (fd);
      return berth_error (err, saved, "setns `%s`", ns->path);
    }
  close (fd);
  return 0;
}

int
ns_join_pid (const struct plan *p, berth_error_t *err)
{
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].path != NULL && p->ns[i].flag == CLONE_NEWPID && join_one (&p->ns[i], err) < 0)
      return -1;
  return 0;
}

int
ns_join_net (const struct plan *p, berth_error_t *err)
{
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].path != NULL && p->ns[i].flag == CLONE_NEWNET && join_one (&p->ns[i], err) < 0)
      return -1;
  return 0;
}

int
ns_join (const struct plan *p, int skip, berth_error_t *err)
{
  static const int order[] = { CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWNS };
  for (size_t o = 0; o < sizeof (order) / sizeof (order[0]); o++)
    for (size_t i = 0; i < p->n_ns; i++)
      if (p->ns[i].path != NULL && p->ns[i].flag == order[o] && !(order[o] & skip) && join_one (&p->ns[i], err) < 0)
        return -1;
  return 0;
}

static int
write_map (pid_t pid, const char *file, const struct plan_idmap *m, size_t n, berth_error_t *err)
{
  char path[64], buf[4096];
  size_t off = 0;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n && off < sizeof (buf); i++)
    off += (size_t) snprintf (buf + off, sizeof (buf) - off, "%u %u %u\n", m[i].container, m[i].host, m[i].size);
  snprintf (path, sizeof (path), "/proc/%d/%s", (int) pid, file);
  if (write_file (path, buf) < 0)
    return berth_error (err, errno, "write %s", path);
  return 0;
}

int
ns_write_idmaps (const struct plan *p, pid_t pid, berth_error_t *err)
{
  if (write_map (pid, "uid_map", p->uid_maps, p->n_uid_maps, err) < 0)
    return -1;
  return write_map (pid, "gid_map", p->gid_maps, p->n_gid_maps, err);
}

long
ns_host_root (const struct plan_idmap *maps, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (maps[i].container == 0)
      return (long) maps[i].host;
  return -1;
}

int
ns_set_names (const struct plan *p, berth_error_t *err)
{
  if (p->hostname != NULL && sethostname (p->hostname, strlen (p->hostname)) < 0)
    return berth_error (err, errno, "sethostname");
  if (p->domainname != NULL && setdomainname (p->domainname, strlen (p->domainname)) < 0)
    return berth_error (err, errno, "setdomainname");
  return 0;
}

/* Namespaces a spare helper makes ahead of its plan: the network namespace is most of what
   clone() costs (~0.3 of ~0.45 ms here); uts and ipc come along for little. */
static const struct { int flag; const char *path; } premadeable[PREMADE_NS_MAX] = {
  { CLONE_NEWNET, "/proc/self/ns/net" }, { CLONE_NEWUTS, "/proc/self/ns/uts" }, { CLONE_NEWIPC, "/proc/self/ns/ipc" },
};

int
ns_premake (struct premade_ns *pm, int plan_fd, int idle_ms)
{
  struct pollfd pfd = { .fd = plan_fd, .events = POLLIN };
  int all = 0;
  pm->flags = 0;
  for (int i = 0; i < PREMADE_NS_MAX; i++)
    pm->host[i] = -1;
  /* Only a spare that is idle: a helper whose plan is already there goes on at once, and a spare
     launched during a Tasks/Create does not compete with that create for the CPU. */
  if (poll (&pfd, 1, idle_ms) != 0)
    return 0;
  for (int i = 0; i < PREMADE_NS_MAX; i++)
    {
      if ((pm->host[i] = open (premadeable[i].path, O_RDONLY | O_CLOEXEC)) < 0)
        return ns_drop_premade (pm), 1;
      all |= premadeable[i].flag;
    }
  if (unshare (all) < 0)
    return ns_drop_premade (pm), 1;
  pm->flags = all;
  return 1;
}

int
ns_settle_premade (struct premade_ns *pm, int want, berth_error_t *err)
{
  for (int i = 0; i < PREMADE_NS_MAX; i++)
    if ((pm->flags & premadeable[i].flag) && !(want & premadeable[i].flag))
      {
        if (setns (pm->host[i], premadeable[i].flag) < 0)
          return berth_error (err, errno, "setns back to the host's %s", premadeable[i].path);
        pm->flags &= ~premadeable[i].flag;
      }
  ns_drop_premade (pm);
  return 0;
}

void
ns_drop_premade (struct premade_ns *pm)
{
  for (int i = 0; i < PREMADE_NS_MAX; i++)
    if (pm->host[i] >= 0)
      close (pm->host[i]), pm->host[i] = -1;
}
