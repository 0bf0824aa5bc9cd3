#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const v1_ctrls[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids", "blkio" };

void
cgroup_nap_ms (long ms)
{
  struct timespec ts = { 0, ms * 1000000L };
  nanosleep (&ts, NULL);
}

/* Finds the own path of a controller in /proc/self/cgroup ("N:a,b:/path"); v2 uses "". */
static int
own_path (const char *table, const char *ctrl, char *out, size_t cap)
{
  const char *line = table;
  while (line != NULL && *line != '\0')
    {
      const char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL, *nl = strchr (line, '\n');
      if (c2 != NULL && (nl == NULL || c2 < nl))
        {
          size_t clen = (size_t) (c2 - c1 - 1), plen = nl ? (size_t) (nl - c2 - 1) : strlen (c2 + 1);
          int match = 0;
          const char *p = c1 + 1;
          while (p < c2)
            {
              const char *e = memchr (p, ',', (size_t) (c2 - p));
              size_t len = e ? (size_t) (e - p) : (size_t) (c2 - p);
              if (len == strlen (ctrl) && memcmp (p, ctrl, len) == 0)
                match = 1;
              p += len + 1;
            }
          if (ctrl[0] == '\0' && clen == 0)
            match = 1;
          if (match && plen < cap)
            {
              memcpy (out, c2 + 1, plen);
              out[plen] = '\0';
              if (strcmp (out, "/") == 0)
                out[0] = '\0';
              return 0;
            }
        }
      line = nl ? nl + 1 : NULL;
    }
  return -1;
}

static int
add_ctrl (struct cgroup *cg, const char *name, const char *mnt, const char *own, berth_error_t *err)
{
  size_t i = cg->n;
  if (asprintf (&cg->base[i], "%s%s", mnt, own) < 0)
    return berth_error (err, ENOMEM, "cgroup: alloc");
  cg->names[i] = name;
  cg->n++;
  return 0;
}

static int
discover (struct cgroup *cg, berth_error_t *err)
{
  char table[4096], own[1024], mnt[256];
  struct stat st;

  if (read_small_file ("/proc/self/cgroup", table, sizeof (table)) < 0)
    return berth_error (err, errno, "cgroup: read /proc/self/cgroup");
  if (stat ("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
    {
      char *last;
      cg->v2 = 1;
      if (own_path (table, "", own, sizeof (own)) < 0)
        return berth_error (err, ENOENT, "cgroup: no v2 entry in /proc/self/cgroup");
      last = strrchr (own, '/');
      if (last != NULL && strcmp (last + 1, DAEMON_LEAF) == 0)
        *last = '\0'; /* the daemon's leaf: its parent is the base */
      return add_ctrl (cg, "unified", "/sys/fs/cgroup", own, err);
    }
  for (size_t i = 0; i < sizeof (v1_ctrls) / sizeof (v1_ctrls[0]); i++)
    {
      snprintf (mnt, sizeof (mnt), "/sys/fs/cgroup/%s", v1_ctrls[i]);
      if (own_path (table, v1_ctrls[i], own, sizeof (own)) < 0 || stat (mnt, &st) < 0)
        continue;
      if (add_ctrl (cg, v1_ctrls[i], mnt, own, err) < 0)
        return -1;
    }
  if (cg->n == 0)
    return berth_error (err, ENOENT, "cgroup: no v1 controller mounted under /sys/fs/cgroup");
  return 0;
}

int
cgroup_discover (struct cgroup *cg, berth_error_t *err)
{
  memset (cg, 0, sizeof (*cg));
  if (discover (cg, err) < 0)
    {
      cgroup_free (cg);
      memset (cg, 0, sizeof (*cg));
      return -1;
    }
  cg->discovered = 1;
  return 0;
}

int
cgroup_resolve (struct cgroup *cg, const char *rel, berth_error_t *err)
{
  if (!cg->discovered && cgroup_discover (cg, err) < 0)
    return -1;
  for (size_t i = 0; i < cg->n; i++)
    if (asprintf (&cg->leaf[i], "%s/%s", cg->base[i], rel) < 0)
      return berth_error (err, ENOMEM, "cgroup: alloc");
  return 0;
}

const char *
cgroup_dir (struct cgroup *cg, const char *ctrl)
{
  for (size_t i = 0; i < cg->n; i++)
    if (cg->v2 || strcmp (cg->names[i], ctrl) == 0)
      return cg->leaf[i];
  return NULL;
}

/* v1 cpuset: a new group starts with empty cpus/mems and refuses tasks until filled. */
static int
cpuset_inherit (const char *dir, const char *parent, const char *file, berth_error_t *err)
{
  char path[4096], buf[1024];
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (read_small_file (path, buf, sizeof (buf)) >= 0 && buf[0] != '\n' && buf[0] != '\0')
    return 0;
  snprintf (path, sizeof (path), "%s/%s", parent, file);
  if (read_small_file (path, buf, sizeof (buf)) < 0)
    return berth_error (err, errno, "cgroup: read %s", path);
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (write_file (path, buf) < 0)
    return berth_error (err, errno, "cgroup: write %s", path);
  return 0;
}

/* v2: hands the controllers berth uses, where `dir` has them, to its children. Written at once,
   then one by one if that failed (one refused controller must not cost the others, as in runc). */
static void
enable_controllers (const char *dir)
{
  static const char *const wanted[] = { "cpu", "cpuset", "io", "memory", "pids" };
  char path[4096], have[512], want[128] = "";
  snprintf (path, sizeof (path), "%s/cgroup.controllers", dir);
  if (read_small_file (path, have, sizeof (have)) < 0)
    return;
  for (size_t i = 0; i < sizeof (wanted) / sizeof (wanted[0]); i++)
    {
      size_t len = strlen (wanted[i]);
      for (const char *p = have; (p = strstr (p, wanted[i])) != NULL; p += len)
        if ((p == have || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
          {
            snprintf (want + strlen (want), sizeof (want) - strlen (want), "%s+%s", want[0] ? " " : "", wanted[i]);
            break;
          }
    }
  if (want[0] == '\0')
    return;
  snprintf (path, sizeof (path), "%s/cgroup.subtree_control", dir);
  if (write_file (path, want) == 0)
    return;
  for (char *tok = strtok (want, " "); tok != NULL; tok = strtok (NULL, " "))
    (void) write_file (path, tok);
}

static int
mkdir_below (const char *base, const char *leaf, int is_cpuset, int is_v2, berth_error_t *err)
{
  char path[4096];
  size_t blen = strlen (base);
  snprintf (path, sizeof (path), "%s", leaf);
  for (char *p = path + blen + 1;; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char saved = *p;
      *p = '\0';
      int made = 0;
      /* A sibling helper may rmdir an empty parent between our steps: retry. */
      for (int tries = 0; !(made = mkdir (path, 0755) == 0) && errno != EEXIST; tries++)
        if (errno != ENOENT || tries > 20)
          return berth_error (err, errno, "cgroup: mkdir %s", path);
        else if (mkdir_below (base, path, is_cpuset, is_v2, err) < 0)
          return -1;
      if (is_cpuset)
        {
          char parent[4096];
          snprintf (parent, sizeof (parent), "%s", path);
          *strrchr (parent, '/') = '\0';
          if (cpuset_inherit (path, parent, "cpuset.cpus", err) < 0
              || cpuset_inherit (path, parent, "cpuset.mems", err) < 0)
            return -1;
          /* Groups made below a parent we made start with its cpus and mems (the flag is inherited):
             no reads and writes of the parent's files for every container. */
          if (made && saved != '\0')
            {
              char ctl[4096];
              snprintf (ctl, sizeof (ctl), "%s/cgroup.clone_children", path);
              (void) write_file (ctl, "1");
            }
        }
      if (is_v2 && saved != '\0')
        enable_controllers (path);
      *p = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}

int
cgroup_create (struct cgroup *cg, berth_error_t *err)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      if (cg->v2)
        enable_controllers (cg->base[i]); /* fails while the base holds processes: berthd moved out */
      if (mkdir_below (cg->base[i], cg->leaf[i], strcmp (cg->names[i], "cpuset") == 0, cg->v2, err) < 0)
        return -1;
    }
  return 0;
}

int
cgroup_attach (struct cgroup *cg, pid_t pid, berth_error_t *err)
{
  char path[4096], val[32];
  snprintf (val, sizeof (val), "%d", (int) pid);
  for (size_t i = 0; i < cg->n; i++)
    {
      snprintf (path, sizeof (path), "%s/cgroup.procs", cg->leaf[i]);
      if (write_file (path, val) < 0)
        return berth_error (err, errno, "cgroup: join %s", path);
    }
  return 0;
}

/* Moving a whole process (cgroup.procs, or any pid other than the caller's own) takes the kernel's
   global cgroup_threadgroup_rwsem for writing, and every fresh write acquisition waits for an RCU
   grace period: 5-20 ms on this VM, the largest part of Tasks/Create. A thread writing "0" into a
   v1 `tasks` file moves only itself and skips that lock (Linux >= 6.0, "cgroup: Optimize single
   thread migration"; older kernels take the lock as before and are no slower). The container
   process is single-threaded until exec, so moving its one thread moves the process. */
int
cgroup_attach_self (struct cgroup *cg, berth_error_t *err)
{
  char path[4096];
  for (size_t i = 0; i < cg->n; i++)
    {
      snprintf (path, sizeof (path), "%s/tasks", cg->leaf[i]);
      if (write_file (path, "0") < 0)
        return berth_error (err, errno, "cgroup: join %s", path);
    }
  return 0;
}

/* Signals every pid in dir's cgroup.procs and in the sub-cgroups below it (a container that owns
   its cgroup may have made some); returns how many were signalled. */
static int
signal_tree (const char *dir, int sig, int depth)
{
  char path[4096];
  int count = 0;
  FILE *f;
  long pid;
  DIR *d;
  struct dirent *e;
  snprintf (path, sizeof (path), "%s/cgroup.procs", dir);
  if ((f = fopen (path, "re")) != NULL)
    {
      while (fscanf (f, "%ld", &pid) == 1)
        if (pid > 0 && kill ((pid_t) pid, sig) == 0)
          count++;
      fclose (f);
    }
  if (depth >= 32 || (d = opendir (dir)) == NULL)
    return count;
  while ((e = readdir (d)) != NULL)
    if (e->d_type == DT_DIR && e->d_name[0] != '.')
      {
        snprintf (path, sizeof (path), "%s/%s", dir, e->d_name);
        count += signal_tree (path, sig, depth + 1);
      }
  closedir (d);
  return count;
}

/* Every hierarchy: on v1 a process moved into a sub-cgroup of one controller stays in the leaf of
   the others, so no single hierarchy lists them all. */
static int
signal_procs (struct cgroup *cg, int sig)
{
  int count = 0;
  for (size_t i = 0; i < cg->n; i++)
    if (cg->leaf[i] != NULL)
      count += signal_tree (cg->leaf[i], sig, 0);
  return count;
}

int
cgroup_kill_all (struct cgroup *cg, int sig, berth_error_t *err)
{
  int frozen = cgroup_is_frozen (cg);
  if (cgroup_dir (cg, "freezer") == NULL)
    return signal_procs (cg, sig) >= 0 ? 0 : -1;
  /* Freeze first so nothing forks past us (runc's signalAllProcesses). */
  if (!frozen && cgroup_freeze (cg, 1, err) < 0)
    return -1;
  signal_procs (cg, sig);
  if (sig == SIGKILL || !frozen)
    return cgroup_freeze (cg, 0, err); /* SIGKILL only lands on thawed tasks */
  return 0;
}

/* keep: leading components of the relative path that stay (the daemon's per-namespace parents:
   re-creating them in all eight v1 hierarchies for the next container cost ~0.3-0.6 ms). */
void
cgroup_destroy (struct cgroup *cg, unsigned keep)
{
  berth_error_t err;
  for (int tries = 0; tries < 300; tries++)
    {
      size_t left = 0;
      if (tries > 0)
        {
          if (cgroup_is_frozen (cg))
            (void) cgroup_freeze (cg, 0, &err);
          signal_procs (cg, SIGKILL);
          cgroup_nap_ms (10);
        }
      for (size_t i = 0; i < cg->n; i++)
        if (cgroup_rmdir_tree (cg->leaf[i], 0) < 0)
          left++;
      if (left == 0)
        break;
    }
  /* Remove the parents we may have created (e.g. <own>/berth), if now empty, but not the first
     `keep` components below our own cgroup. */
  for (size_t i = 0; i < cg->n; i++)
    {
      char path[4096];
      size_t blen = strlen (cg->base[i]);
      unsigned depth = 0;
      snprintf (path, sizeof (path), "%s", cg->leaf[i]);
      for (const char *q = path + blen; *q != '\0'; q++)
        depth += *q == '/';
      for (char *s = strrchr (path, '/'); s != NULL && (size_t) (s - path) > blen && --depth > keep;
           s = strrchr (path, '/'))
        {
          *s = '\0';
          if (rmdir (path) < 0)
            break;
        }
    }
}

void
cgroup_free (struct cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    free (cg->base[i]), free (cg->leaf[i]), cg->base[i] = cg->leaf[i] = NULL;
  cg->n = 0;
}
