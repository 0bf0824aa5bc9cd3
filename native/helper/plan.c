/* Launch plan parser: length-prefixed key/value records, nested for compound
 * values. Format in PROTOCOL.md. Unknown keys are errors: nothing is ignored. */

#include "plan_internal.h"
#include "seccomp.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
plan_ns_flag (const char *name)
{
  static const struct { const char *n; int f; } t[] = {
    { "pid", CLONE_NEWPID }, { "mount", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
    { "network", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP }, { "user", CLONE_NEWUSER },
  };
  for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++)
    if (strcmp (t[i].n, name) == 0)
      return t[i].f;
  return 0;
}

static int
parse_top (const struct rec *r, struct plan *p, berth_error_t *err)
{
  static const char *capkeys[CAP_SET_COUNT]
      = { "cap_bounding", "cap_effective", "cap_permitted", "cap_inheritable", "cap_ambient" };
  static const char *stdiokeys[3] = { "stdin", "stdout", "stderr" };
  struct { const char *k; int64_t *v; int64_t min; } nums[] = {
    { "mem_limit", &p->mem_limit, -1 }, { "mem_reservation", &p->mem_reservation, -1 },
    { "mem_swap", &p->mem_swap, -1 }, { "cpu_shares", &p->cpu_shares, 2 }, { "cpu_quota", &p->cpu_quota, -1 },
    { "cpu_period", &p->cpu_period, 1000 }, { "pids_limit", &p->pids_limit, -1 },
    { "io_weight", &p->io_weight, 1 },
  };
  void *slot;
  int ret;

  if ((ret = plan_parse_capture_key (r, p, err)) != 0)
    return ret < 0 ? -1 : 0;
  for (int i = 0; i < CAP_SET_COUNT; i++)
    if (key_is (r, capkeys[i]))
      {
        p->has_caps = 1;
        return parse_u64 (r, &p->caps[i], err);
      }
  for (int i = 0; i < 3; i++)
    if (key_is (r, stdiokeys[i]))
      return parse_stdio (r, &p->stdio[i], err);
  for (size_t i = 0; i < sizeof (nums) / sizeof (nums[0]); i++)
    if (key_is (r, nums[i].k))
      return parse_i64 (r, nums[i].min, INT64_MAX, nums[i].v, err);

  if (key_is (r, "mode"))
    {
      if (r->vlen == 6 && memcmp (r->val, "create", 6) == 0)
        p->mode = PLAN_MODE_CREATE;
      else if (r->vlen == 4 && memcmp (r->val, "exec", 4) == 0)
        p->mode = PLAN_MODE_EXEC;
      else
        return berth_error (err, EINVAL, "plan: mode must be create or exec");
      return 0;
    }
  if (key_is (r, "id"))
    return str_dup (r, &p->id, err);
  if (key_is (r, "state_dir"))
    return path_dup (r, &p->state_dir, err);
  if (key_is (r, "rootfs"))
    return path_dup (r, &p->rootfs, err);
  if (key_is (r, "rootfs_readonly"))
    return parse_bool (r, &p->rootfs_readonly, err);
  if (key_is (r, "rootfs_idmap"))
    return parse_bool (r, &p->rootfs_idmap, err);
  if (key_is (r, "rootfs_propagation"))
    return str_dup (r, &p->rootfs_propagation, err);
  if (key_is (r, "rootfs_mount"))
    return (slot = grow (&p->rootfs_mounts, &p->n_rootfs_mounts, sizeof (struct plan_mount), err)) == NULL
               ? -1 : parse_mount (r, slot, 0, err);
  if (key_is (r, "mount"))
    return (slot = grow (&p->mounts, &p->n_mounts, sizeof (struct plan_mount), err)) == NULL
               ? -1 : parse_mount (r, slot, 1, err);
  if (key_is (r, "ns"))
    return (slot = grow (&p->ns, &p->n_ns, sizeof (struct plan_ns), err)) == NULL ? -1 : parse_ns (r, slot, err);
  if (key_is (r, "uid_map"))
    return (slot = grow (&p->uid_maps, &p->n_uid_maps, sizeof (struct plan_idmap), err)) == NULL
               ? -1 : parse_idmap (r, slot, err);
  if (key_is (r, "gid_map"))
    return (slot = grow (&p->gid_maps, &p->n_gid_maps, sizeof (struct plan_idmap), err)) == NULL
               ? -1 : parse_idmap (r, slot, err);
  if (key_is (r, "device"))
    return (slot = grow (&p->devices, &p->n_devices, sizeof (struct plan_device), err)) == NULL
               ? -1 : parse_device (r, slot, err);
  if (key_is (r, "io_device"))
    return (slot = grow (&p->io_devices, &p->n_io_devices, sizeof (struct plan_io_device), err)) == NULL
               ? -1 : parse_io_device (r, slot, err);
  if (key_is (r, "dev_rule"))
    return (slot = grow (&p->dev_rules, &p->n_dev_rules, sizeof (struct plan_dev_rule), err)) == NULL
               ? -1 : parse_dev_rule (r, slot, err);
  if (key_is (r, "sysctl"))
    return (slot = grow (&p->sysctls, &p->n_sysctls, sizeof (struct plan_kv), err)) == NULL
               ? -1 : parse_kv (r, slot, err);
  if (key_is (r, "rlimit"))
    return (slot = grow (&p->rlimits, &p->n_rlimits, sizeof (struct plan_rlimit), err)) == NULL
               ? -1 : parse_rlimit (r, slot, err);
  if (key_is (r, "masked"))
    return push_str (&p->masked, &p->n_masked, r, err);
  if (key_is (r, "readonly"))
    return push_str (&p->readonly, &p->n_readonly, r, err);
  if (key_is (r, "hostname"))
    return str_dup (r, &p->hostname, err);
  if (key_is (r, "domainname"))
    return str_dup (r, &p->domainname, err);
  if (key_is (r, "oom_score_adj"))
    {
      int64_t v;
      if (parse_i64 (r, -1000, 1000, &v, err) < 0)
        return -1;
      p->has_oom_score_adj = 1;
      p->oom_score_adj = (int) v;
      return 0;
    }
  if (key_is (r, "uid"))
    return parse_u32 (r, &p->uid, err);
  if (key_is (r, "gid"))
    return parse_u32 (r, &p->gid, err);
  if (key_is (r, "gid_extra"))
    return (slot = grow (&p->gids, &p->n_gids, sizeof (uint32_t), err)) == NULL ? -1 : parse_u32 (r, slot, err);
  if (key_is (r, "umask"))
    {
      p->has_umask = 1;
      if (parse_u32 (r, &p->umask, err) < 0)
        return -1;
      return p->umask > 0777 ? berth_error (err, EINVAL, "plan: bad umask") : 0;
    }
  if (key_is (r, "cwd"))
    return path_dup (r, &p->cwd, err);
  if (key_is (r, "arg"))
    return push_str (&p->args, &p->n_args, r, err);
  if (key_is (r, "env"))
    return push_str (&p->env, &p->n_env, r, err);
  if (key_is (r, "no_new_privileges"))
    return parse_bool (r, &p->no_new_privileges, err);
  if (key_is (r, "terminal"))
    return parse_bool (r, &p->terminal, err);
  if (key_is (r, "tty_width"))
    return parse_u32 (r, &p->tty_width, err);
  if (key_is (r, "tty_height"))
    return parse_u32 (r, &p->tty_height, err);
  if (key_is (r, "cgroup_path"))
    return parse_cgroup_path (r, &p->cgroup_path, err);
  if (key_is (r, "cgroup_join"))
    return parse_bool (r, &p->cgroup_join, err);
  if (key_is (r, "cgroup_keep"))
    return parse_u32 (r, &p->cgroup_keep, err);
  if (key_is (r, "cpuset_cpus"))
    return str_dup (r, &p->cpuset_cpus, err);
  if (key_is (r, "cpuset_mems"))
    return str_dup (r, &p->cpuset_mems, err);
  if (key_is (r, "seccomp"))
    return parse_seccomp (r, p, err);
  return UNKNOWN (*r);
}

/* NULL-terminates the string arrays so they can be handed to execve. */
static int
terminate (char ***arr, size_t n, berth_error_t *err)
{
  char **p = realloc (*arr, (n + 1) * sizeof (char *));
  if (p == NULL)
    return berth_error (err, ENOMEM, "plan: alloc");
  p[n] = NULL;
  *arr = p;
  return 0;
}

int
plan_parse (const uint8_t *buf, size_t len, struct plan *p, berth_error_t *err)
{
  struct iter it;
  struct rec r;
  int ret;

  memset (p, 0, sizeof (*p));
  p->mem_limit = p->mem_reservation = p->mem_swap = p->cpu_shares = p->cpu_quota = p->cpu_period
      = p->pids_limit = p->io_weight = -1;
  if (len < 8 || memcmp (buf, PLAN_MAGIC, 8) != 0)
    return berth_error (err, EINVAL, "plan: bad magic"), berth_error_stage (err, "plan");
  it.p = buf + 8;
  it.end = buf + len;
  while ((ret = iter_next (&it, &r, err)) > 0)
    {
      if (key_is (&r, "end"))
        {
          if (r.vlen != 0 || it.p != it.end)
            return berth_error (err, EINVAL, "plan: data after `end`"), berth_error_stage (err, "plan");
          break;
        }
      if (parse_top (&r, p, err) < 0)
        return berth_error_stage (err, "plan");
    }
  if (ret < 0)
    return berth_error_stage (err, "plan");
  if (p->id == NULL || p->state_dir == NULL || p->n_args == 0)
    return berth_error (err, EINVAL, "plan: id, state_dir and at least one arg are required"),
           berth_error_stage (err, "plan");
  if (p->mode == PLAN_MODE_CREATE && (p->rootfs == NULL || p->cgroup_path == NULL))
    return berth_error (err, EINVAL, "plan: create needs rootfs and cgroup_path"), berth_error_stage (err, "plan");
  if (plan_check_capture (p, err) < 0)
    return berth_error_stage (err, "plan");
  if (terminate (&p->args, p->n_args, err) < 0 || terminate (&p->env, p->n_env, err) < 0)
    return berth_error_stage (err, "plan");
  if (p->cwd == NULL && (p->cwd = strdup ("/")) == NULL)
    return berth_error (err, ENOMEM, "plan: alloc"), berth_error_stage (err, "plan");
  return 0;
}

/* Walks the complete top-level records in buf[*scan, len) (after the magic); returns 1 once an
   `end` record ends the data, else 0 and leaves *scan at the first incomplete record. */
static int
reached_end (const uint8_t *buf, size_t len, size_t *scan)
{
  if (*scan < 8)
    *scan = 8;
  while (len - *scan >= 2)
    {
      size_t klen = (size_t) buf[*scan] | ((size_t) buf[*scan + 1] << 8), vlen;
      const uint8_t *h = buf + *scan + 2 + klen;
      if (len - *scan < 2 + klen + 4)
        return 0;
      vlen = (size_t) h[0] | ((size_t) h[1] << 8) | ((size_t) h[2] << 16) | ((size_t) h[3] << 24);
      if (len - *scan - 2 - klen - 4 < vlen)
        return 0;
      *scan += 2 + klen + 4 + vlen;
      if (klen == 3 && memcmp (buf + *scan - vlen - 4 - 3, "end", 3) == 0)
        return *scan == len;
    }
  return 0;
}

int
plan_read_fd (int fd, struct plan *out, berth_error_t *err)
{
  cleanup_free uint8_t *buf = NULL;
  size_t len = 0, cap = 0, scan = 0;
  for (;;)
    {
      ssize_t n;
      if (len == cap)
        {
          uint8_t *nb;
          if (cap >= PLAN_MAX_SIZE)
            return berth_error (err, E2BIG, "plan: larger than %u bytes", PLAN_MAX_SIZE),
                   berth_error_stage (err, "plan");
          cap = cap ? cap * 2 : 16384;
          nb = realloc (buf, cap);
          if (nb == NULL)
            return berth_error (err, ENOMEM, "plan: alloc"), berth_error_stage (err, "plan");
          buf = nb;
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error (err, errno, "plan: read fd %d", fd), berth_error_stage (err, "plan");
      if (n == 0)
        break;
      len += (size_t) n;
      /* berthd ends its plans with `end`: waiting for its EOF as well cost ~0.5 ms (Node shuts
         the socket down only on a later turn of its event loop). */
      if (len >= 8 && reached_end (buf, len, &scan))
        break;
    }
  return plan_parse (buf, len, out, err);
}

static void
free_strv (char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

static void
free_mounts (struct plan_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (m[i].destination);
      free (m[i].type);
      free (m[i].source);
      free_strv (m[i].options, m[i].n_options);
    }
  free (m);
}

void
plan_free (struct plan *p)
{
  free (p->id), free (p->state_dir), free (p->rootfs), free (p->rootfs_propagation);
  free_mounts (p->rootfs_mounts, p->n_rootfs_mounts);
  free_mounts (p->mounts, p->n_mounts);
  for (size_t i = 0; i < p->n_ns; i++)
    free (p->ns[i].path);
  free (p->ns), free (p->uid_maps), free (p->gid_maps);
  free_strv (p->masked, p->n_masked);
  free_strv (p->readonly, p->n_readonly);
  for (size_t i = 0; i < p->n_devices; i++)
    free (p->devices[i].path);
  free (p->devices);
  free (p->hostname), free (p->domainname);
  for (size_t i = 0; i < p->n_sysctls; i++)
    free (p->sysctls[i].key), free (p->sysctls[i].value);
  free (p->sysctls), free (p->rlimits), free (p->gids), free (p->cwd);
  free_strv (p->args, p->n_args);
  free_strv (p->env, p->n_env);
  for (int i = 0; i < 3; i++)
    free (p->stdio[i].path);
  free (p->cgroup_path), free (p->cpuset_cpus), free (p->cpuset_mems);
  for (size_t i = 0; i < p->n_dev_rules; i++)
    free (p->dev_rules[i].access);
  free (p->dev_rules);
  free (p->seccomp_filter);
  free (p->capture.log_path);
  free (p->io_devices);
  memset (p, 0, sizeof (*p));
}
