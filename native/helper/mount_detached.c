/* The rootfs of a container with its own user namespace.
 *
 * Inside a new user namespace the child may not mount the overlay: its lower/upper dirs sit below
 * the daemon's root-only (0700) dirs, which the remapped root cannot even look up. containerd's
 * shim solves this by mounting the rootfs on the host before runc runs; that mount is then
 * visible (and must be cleaned up) on the host. berth builds it as a *detached* mount instead
 * (fsopen/fsmount, or open_tree for binds) in the helper, with the host's credentials, before
 * clone(). The child inherits the fd and attaches it with move_mount() inside its own mount
 * namespace, so nothing ever appears on the host and nothing is left when the container ends.
 *
 * The child cannot look up the rootfs path either, so the helper clone()s with its cwd in the
 * rootfs dir: the new mount namespace translates the cwd, and the child attaches onto ".". */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned int
attr_flags (unsigned long ms)
{
  unsigned int a = 0;
  if (ms & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (ms & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  if (ms & MS_NODIRATIME)
    a |= MOUNT_ATTR_NODIRATIME;
  return a;
}

/* A new filesystem (overlay, tmpfs, ...): every data option goes through fsconfig. */
int
detached_fs (const struct plan_mount *m, const struct mopts *o, berth_error_t *err)
{
  char data[sizeof (o->data)], *save = NULL;
  cleanup_close int fs = fsopen (m->type, FSOPEN_CLOEXEC);
  if (fs < 0)
    return berth_error (err, errno, "fsopen %s", m->type);
  if (fsconfig (fs, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
    return berth_error (err, errno, "fsconfig %s source `%s`", m->type, m->source);
  snprintf (data, sizeof (data), "%s", o->data);
  for (char *opt = strtok_r (data, ",", &save); opt != NULL; opt = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (opt, '=');
      int r;
      if (eq != NULL)
        *eq = '\0', r = fsconfig (fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
      else
        r = fsconfig (fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
      if (r < 0)
        return berth_error (err, errno, "fsconfig %s option `%s`", m->type, opt);
    }
  if (fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return berth_error (err, errno, "create %s `%s`", m->type, m->source);
  int mnt = fsmount (fs, FSMOUNT_CLOEXEC, attr_flags (o->flags));
  if (mnt < 0)
    return berth_error (err, errno, "fsmount %s `%s`", m->type, m->source);
  return mnt;
}

/* A copy of an existing tree (bind/rbind, or the rootfs dir itself), with its flags applied. */
int
detached_bind (const char *source, int recursive, unsigned long flags, berth_error_t *err)
{
  struct mount_attr attr = { 0 };
  int fd = open_tree (AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (fd < 0)
    return berth_error (err, errno, "clone mount `%s`", source);
  attr.attr_set = attr_flags (flags);
  if (attr.attr_set != 0
      && mount_setattr (fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof (attr)) < 0)
    {
      int saved = errno;
      close (fd);
      return berth_error (err, saved, "set flags on `%s`", source);
    }
  return fd;
}

int
mount_detached_rootfs (const struct plan *p, berth_error_t *err)
{
  struct mopts o;
  if (p->n_rootfs_mounts == 0)
    return detached_bind (p->rootfs, 1, 0, err);
  if (p->n_rootfs_mounts > 1)
    return berth_error (err, ENOTSUP, "a user namespace container takes one rootfs mount, not %zu", p->n_rootfs_mounts);
  const struct plan_mount *m = &p->rootfs_mounts[0];
  mount_parse_options (m->options, m->n_options, &o);
  if (strcmp (m->type, "bind") == 0 || strcmp (m->type, "rbind") == 0 || (o.flags & MS_BIND))
    return detached_bind (m->source, strcmp (m->type, "rbind") == 0 || (o.flags & MS_REC), o.flags, err);
  return detached_fs (m, &o, err);
}

int
mount_attach_rootfs (const struct plan *p, int mnt, int *rootfd, berth_error_t *err)
{
  struct mopts o;
  unsigned long prop = MS_REC | MS_PRIVATE;
  if (p->rootfs_propagation != NULL)
    {
      char *opt = p->rootfs_propagation;
      mount_parse_options (&opt, 1, &o);
      if (o.prop == 0)
        return berth_error (err, EINVAL, "bad rootfs propagation `%s`", opt);
      prop = o.prop;
    }
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return berth_error (err, errno, "make / %s", p->rootfs_propagation ? p->rootfs_propagation : "rprivate");
  /* "." is the rootfs dir, translated into our mount namespace by clone(). */
  if (move_mount (mnt, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return berth_error (err, errno, "attach rootfs on `%s`", p->rootfs);
  /* The fd now names the attached mount's root. */
  *rootfd = openat (mnt, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0)
    return berth_error (err, errno, "open rootfs `%s`", p->rootfs);
  return 0;
}

/* A new user namespace's root cannot look up bind sources below the daemon's root-only dirs
   (the engine's per-container /etc files, volumes): each bind's source is cloned here, with the
   host's credentials and its flags applied, and the child attaches the clone (mount.c). */
int
mount_detach_binds (struct plan *p, int userns, berth_error_t *err)
{
  for (size_t i = 0; i < p->n_mounts; i++)
    p->mounts[i].detached = -1;
  if (!userns)
    return 0;
  for (size_t i = 0; i < p->n_mounts; i++)
    {
      struct plan_mount *m = &p->mounts[i];
      struct mopts o;
      int rbind = strcmp (m->type, "rbind") == 0;
      mount_parse_options (m->options, m->n_options, &o);
      if (!(rbind || strcmp (m->type, "bind") == 0 || (o.flags & MS_BIND)))
        continue;
      m->detached = detached_bind (m->source, rbind || (o.flags & MS_REC), o.flags & ~(MS_BIND | MS_REC), err);
      if (m->detached < 0)
        {
          m->detached = -1;
          return berth_error_wrap (err, "bind source");
        }
    }
  return 0;
}

void
mount_close_detached_binds (struct plan *p)
{
  for (size_t i = 0; i < p->n_mounts; i++)
    if (p->mounts[i].detached >= 0)
      close (p->mounts[i].detached), p->mounts[i].detached = -1;
}
