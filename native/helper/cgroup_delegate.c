/* A container with its own user namespace owns its cgroup (runc and crun do the same): its root
 * may make sub-cgroups, move its processes between them and set their limits, while the limits
 * berth wrote on the container's cgroup itself stay out of its reach. */
#include "cgroup.h"
#include "ns.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
cgroup_delegate (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  /* What the kernel lists as safe to delegate (v2), else the files that membership needs. */
  static const char *const v1_files[] = { "cgroup.procs", "tasks", "cgroup.clone_children", NULL };
  static const char *const v2_files[] = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", NULL };
  long uid = ns_host_root (p->uid_maps, p->n_uid_maps), gid = ns_host_root (p->gid_maps, p->n_gid_maps);
  char delegate[1024], path[4096];
  if (uid < 0 || gid < 0)
    return 0; /* no root inside: nobody to hand it to */
  if (!cg->v2 || read_small_file ("/sys/kernel/cgroup/delegate", delegate, sizeof (delegate)) < 0)
    delegate[0] = '\0';
  for (size_t i = 0; i < cg->n; i++)
    {
      if (chown (cg->leaf[i], (uid_t) uid, (gid_t) gid) < 0)
        return berth_error (err, errno, "cgroup: chown %s to %ld:%ld", cg->leaf[i], uid, gid);
      if (delegate[0] != '\0')
        {
          char list[1024], *save = NULL;
          snprintf (list, sizeof (list), "%s", delegate);
          for (char *f = strtok_r (list, "\n", &save); f != NULL; f = strtok_r (NULL, "\n", &save))
            {
              snprintf (path, sizeof (path), "%s/%s", cg->leaf[i], f);
              if (chown (path, (uid_t) uid, (gid_t) gid) < 0 && errno != ENOENT)
                return berth_error (err, errno, "cgroup: chown %s", path);
            }
          continue;
        }
      for (const char *const *f = cg->v2 ? v2_files : v1_files; *f != NULL; f++)
        {
          snprintf (path, sizeof (path), "%s/%s", cg->leaf[i], *f);
          if (chown (path, (uid_t) uid, (gid_t) gid) < 0 && errno != ENOENT)
            return berth_error (err, errno, "cgroup: chown %s", path);
        }
    }
  return 0;
}

int
cgroup_rmdir_tree (const char *dir, int depth)
{
  char path[4096];
  struct dirent *e;
  DIR *d = opendir (dir);
  if (d == NULL)
    return errno == ENOENT ? 0 : -1;
  while ((e = readdir (d)) != NULL)
    if (e->d_type == DT_DIR && e->d_name[0] != '.' && depth < 32)
      {
        snprintf (path, sizeof (path), "%s/%s", dir, e->d_name);
        (void) cgroup_rmdir_tree (path, depth + 1);
      }
  closedir (d);
  if (rmdir (dir) == 0 || errno == ENOENT)
    return 0;
  if (depth > 0 && errno == EBUSY)
    {
      /* A process left in a sub-cgroup the container made (outside its pid namespace). */
      FILE *f;
      long pid;
      snprintf (path, sizeof (path), "%s/cgroup.procs", dir);
      if ((f = fopen (path, "re")) != NULL)
        {
          while (fscanf (f, "%ld", &pid) == 1)
            if (pid > 0)
              kill ((pid_t) pid, SIGKILL);
          fclose (f);
        }
    }
  return -1;
}
