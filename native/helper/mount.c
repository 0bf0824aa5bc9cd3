#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FDPATH(buf, fd) snprintf ((buf), sizeof (buf), "/proc/self/fd/%d", (fd))

static int
openat2_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { 0 };
  how.flags = (uint64_t) (flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return (int) syscall (SYS_openat2, rootfd, path, &how, sizeof (how));
}

int
open_in_root (int rootfd, const char *path, int create, int flags, berth_error_t *err)
{
  char buf[4096];
  int fd = openat2_in_root (rootfd, path, flags ? flags : O_PATH);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT || create == IN_ROOT_OPEN)
    return berth_error (err, errno, "open `%s` in rootfs", path);
  snprintf (buf, sizeof (buf), "%s", path);
  for (char *s = buf + 1;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      int last = saved == '\0' || s[1] == '\0';
      *s = '\0';
      char *slash = strrchr (buf, '/');
      *slash = '\0';
      int parent = openat2_in_root (rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
      *slash = '/';
      if (parent < 0)
        return berth_error (err, errno, "open parent of `%s` in rootfs", buf);
      if (last && create == IN_ROOT_FILE)
        {
          int f = openat (parent, slash + 1, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
          if (f < 0 && errno != EEXIST)
            return close (parent), berth_error (err, errno, "create `%s` in rootfs", buf);
          if (f >= 0)
            close (f);
        }
      else if (slash[1] != '\0' && mkdirat (parent, slash + 1, 0755) < 0 && errno != EEXIST)
        return close (parent), berth_error (err, errno, "mkdir `%s` in rootfs", buf);
      close (parent);
      *s = saved;
      if (last)
        break;
    }
  fd = openat2_in_root (rootfd, path, flags ? flags : O_PATH);
  if (fd < 0)
    return berth_error (err, errno, "open `%s` in rootfs", path);
  return fd;
}

static void
parse_options (char **options, size_t n, struct mopts *o)
{
  static const struct { const char *name; int clear; unsigned long flag; } fl[] = {
    { "defaults", 0, 0 }, { "ro", 0, MS_RDONLY }, { "rw", 1, MS_RDONLY }, { "nosuid", 0, MS_NOSUID },
    { "suid", 1, MS_NOSUID }, { "nodev", 0, MS_NODEV }, { "dev", 1, MS_NODEV }, { "noexec", 0, MS_NOEXEC },
    { "exec", 1, MS_NOEXEC }, { "sync", 0, MS_SYNCHRONOUS }, { "async", 1, MS_SYNCHRONOUS },
    { "dirsync", 0, MS_DIRSYNC }, { "remount", 0, MS_REMOUNT }, { "mand", 0, MS_MANDLOCK },
    { "nomand", 1, MS_MANDLOCK }, { "atime", 1, MS_NOATIME }, { "noatime", 0, MS_NOATIME },
    { "diratime", 1, MS_NODIRATIME }, { "nodiratime", 0, MS_NODIRATIME }, { "bind", 0, MS_BIND },
    { "rbind", 0, MS_BIND | MS_REC }, { "relatime", 0, MS_RELATIME }, { "norelatime", 1, MS_RELATIME },
    { "strictatime", 0, MS_STRICTATIME }, { "nostrictatime", 1, MS_STRICTATIME },
  };
  static const struct { const char *name; unsigned long flag; } pr[] = {
    { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC }, { "shared", MS_SHARED },
    { "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  size_t dl = 0;
  memset (o, 0, sizeof (*o));
  for (size_t i = 0; i < n; i++)
    {
      int known = 0;
      for (size_t j = 0; j < sizeof (fl) / sizeof (fl[0]) && !known; j++)
        if (strcmp (options[i], fl[j].name) == 0)
          {
            known = 1;
            if (fl[j].clear)
              o->flags &= ~fl[j].flag;
            else
              o->flags |= fl[j].flag;
          }
      for (size_t j = 0; j < sizeof (pr) / sizeof (pr[0]) && !known; j++)
        if (strcmp (options[i], pr[j].name) == 0)
          known = 1, o->prop = pr[j].flag;
      if (!known)
        dl += (size_t) snprintf (o->data + dl, sizeof (o->data) - dl, "%s%s", dl ? "," : "", options[i]);
      if (dl >= sizeof (o->data))
        dl = sizeof (o->data) - 1;
    }
}

unsigned long
mount_locked_flags (const char *path)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs (path, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  return f;
}

/* Remounts a bind mount (found again through the rootfs) with its final flags. */
static int
remount_bind (int rootfd, const char *dest, unsigned long flags, berth_error_t *err)
{
  char fdp[64];
  cleanup_close int fd = open_in_root (rootfd, dest, IN_ROOT_OPEN, 0, err);
  if (fd < 0)
    return -1;
  FDPATH (fdp, fd);
  flags |= mount_locked_flags (fdp);
  if (mount (NULL, fdp, NULL, MS_REMOUNT | MS_BIND | (flags & ~(MS_REC | MS_BIND)), NULL) < 0)
    return berth_error (err, errno, "remount `%s`", dest);
  return 0;
}

int
mount_rootfs (const struct plan *p, int *rootfd, berth_error_t *err)
{
  struct mopts o;
  unsigned long prop = MS_REC | MS_PRIVATE;
  if (p->rootfs_propagation != NULL)
    {
      char *opt = p->rootfs_propagation;
      parse_options (&opt, 1, &o);
      if (o.prop == 0)
        return berth_error (err, EINVAL, "bad rootfs propagation `%s`", opt);
      prop = o.prop;
    }
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return berth_error (err, errno, "make / %s", p->rootfs_propagation ? p->rootfs_propagation : "rprivate");
  for (size_t i = 0; i < p->n_rootfs_mounts; i++)
    {
      const struct plan_mount *m = &p->rootfs_mounts[i];
      parse_options (m->options, m->n_options, &o);
      if (strcmp (m->type, "bind") == 0 || strcmp (m->type, "rbind") == 0)
        o.flags |= MS_BIND | (strcmp (m->type, "rbind") == 0 ? MS_REC : 0);
      if (mount (m->source, p->rootfs, m->type, o.flags & ~(o.flags & MS_BIND ? MS_RDONLY : 0), o.data[0] ? o.data : NULL)
          < 0)
        return berth_error (err, errno, "mount rootfs %s `%s`", m->type, m->source);
      if ((o.flags & MS_BIND) && (o.flags & MS_RDONLY)
          && mount (NULL, p->rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_locked_flags (p->rootfs), NULL) < 0)
        return berth_error (err, errno, "remount rootfs read-only");
    }
  if (p->n_rootfs_mounts == 0 && mount (p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berth_error (err, errno, "bind rootfs `%s`", p->rootfs);
  *rootfd = open (p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0)
    return berth_error (err, errno, "open rootfs `%s`", p->rootfs);
  return 0;
}

static int
mount_cgroupfs (const struct plan_mount *m, int rootfd, const struct mopts *o, const struct cgroup *cg,
                int new_cgroupns, berth_error_t *err)
{
  char fdp[64];
  cleanup_close int fd = open_in_root (rootfd, m->destination, IN_ROOT_DIR, 0, err);
  if (fd < 0)
    return -1;
  FDPATH (fdp, fd);
  if (cg->v2)
    {
      if (mount ("cgroup2", fdp, "cgroup2", o->flags, NULL) < 0)
        return berth_error (err, errno, "mount cgroup2 on `%s`", m->destination);
      return 0;
    }
  if (mount ("tmpfs", fdp, "tmpfs", (o->flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return berth_error (err, errno, "mount tmpfs on `%s`", m->destination);
  for (size_t i = 0; i < cg->n; i++)
    {
      char sub[4096], sfd[64];
      snprintf (sub, sizeof (sub), "%s/%s", m->destination, cg->names[i]);
      cleanup_close int cfd = open_in_root (rootfd, sub, IN_ROOT_DIR, 0, err);
      if (cfd < 0)
        return -1;
      FDPATH (sfd, cfd);
      /* With a cgroup namespace the mount root is the container's own cgroup; otherwise bind it. */
      if (new_cgroupns ? mount ("cgroup", sfd, "cgroup", o->flags, cg->names[i])
                       : mount (cg->leaf[i], sfd, NULL, MS_BIND, NULL))
        return berth_error (err, errno, "mount cgroup %s on `%s`", cg->names[i], sub);
      if (!new_cgroupns && (o->flags & MS_RDONLY) && remount_bind (rootfd, sub, o->flags, err) < 0)
        return -1;
    }
  if (o->flags & MS_RDONLY)
    {
      /* fd still names the directory under the tmpfs: look the path up again. */
      cleanup_close int top = open_in_root (rootfd, m->destination, IN_ROOT_OPEN, 0, err);
      if (top < 0)
        return -1;
      FDPATH (fdp, top);
      if (mount (NULL, fdp, NULL, MS_REMOUNT | o->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        return berth_error (err, errno, "remount `%s` read-only", m->destination);
    }
  return 0;
}

static int
mount_one (const struct plan_mount *m, int rootfd, const struct cgroup *cg, int new_cgroupns, berth_error_t *err)
{
  struct mopts o;
  struct stat st;
  char fdp[64];
  int is_bind;

  parse_options (m->options, m->n_options, &o);
  if (strcmp (m->type, "bind") == 0 || strcmp (m->type, "rbind") == 0)
    o.flags |= MS_BIND | (strcmp (m->type, "rbind") == 0 ? MS_REC : 0);
  is_bind = (o.flags & MS_BIND) != 0;
  if (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0)
    return mount_cgroupfs (m, rootfd, &o, cg, new_cgroupns, err);
  if (is_bind && (m->detached >= 0 ? fstat (m->detached, &st) : stat (m->source, &st)) < 0)
    return berth_error (err, errno, "bind source `%s`", m->source);
  cleanup_close int fd
      = open_in_root (rootfd, m->destination, is_bind && !S_ISDIR (st.st_mode) ? IN_ROOT_FILE : IN_ROOT_DIR, 0, err);
  if (fd < 0)
    return -1;
  FDPATH (fdp, fd);
  if (is_bind && m->detached >= 0)
    {
      /* Cloned before clone() with its flags set (mount_detach_binds): attach it. */
      if (move_mount (m->detached, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return berth_error (err, errno, "attach bind `%s` on `%s`", m->source, m->destination);
    }
  else if (mount (m->source, fdp, is_bind ? NULL : m->type, is_bind ? (o.flags & (MS_BIND | MS_REC)) : o.flags,
             is_bind || !o.data[0] ? NULL : o.data)
      < 0)
    {
      /* sysfs wants a network namespace our user namespace owns (not so with the host's network):
         bind the host's /sys as runc does; its files stay the host root's, so nothing is writable. */
      if (errno != EPERM || strcmp (m->type, "sysfs") != 0 || mount ("/sys", fdp, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berth_error (err, errno, "mount %s `%s` on `%s`", m->type, m->source, m->destination);
      is_bind = 1;
    }
  if (is_bind && m->detached < 0 && (o.flags & ~(MS_BIND | MS_REC)) && remount_bind (rootfd, m->destination, o.flags, err) < 0)
    return -1;
  if (o.prop)
    {
      cleanup_close int t = open_in_root (rootfd, m->destination, IN_ROOT_OPEN, 0, err);
      if (t < 0)
        return -1;
      FDPATH (fdp, t);
      if (mount (NULL, fdp, NULL, o.prop, NULL) < 0)
        return berth_error (err, errno, "set propagation of `%s`", m->destination);
    }
  return 0;
}

int
mount_spec (const struct plan *p, int rootfd, const struct cgroup *cg, int new_cgroupns, berth_error_t *err)
{
  for (size_t i = 0; i < p->n_mounts; i++)
    if (mount_one (&p->mounts[i], rootfd, cg, new_cgroupns, err) < 0)
      return -1;
  return 0;
}

int
mount_masked_readonly (const struct plan *p, int rootfd, berth_error_t *err)
{
  char fdp[64];
  struct stat st;
  for (size_t i = 0; i < p->n_masked; i++)
    {
      cleanup_close int fd = open_in_root (rootfd, p->masked[i], IN_ROOT_OPEN, 0, err);
      if (fd < 0 && err->status == ENOENT)
        continue;
      if (fd < 0 || fstat (fd, &st) < 0)
        return berth_error_wrap (err, "masked path");
      FDPATH (fdp, fd);
      if (S_ISDIR (st.st_mode) ? mount ("tmpfs", fdp, "tmpfs", MS_RDONLY, "size=0k")
                               : mount ("/dev/null", fdp, NULL, MS_BIND, NULL))
        return berth_error (err, errno, "mask `%s`", p->masked[i]);
    }
  for (size_t i = 0; i < p->n_readonly; i++)
    {
      cleanup_close int fd = open_in_root (rootfd, p->readonly[i], IN_ROOT_OPEN, 0, err);
      if (fd < 0 && err->status == ENOENT)
        continue;
      if (fd < 0)
        return berth_error_wrap (err, "readonly path");
      FDPATH (fdp, fd);
      if (mount (fdp, fdp, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berth_error (err, errno, "bind `%s`", p->readonly[i]);
      if (remount_bind (rootfd, p->readonly[i], MS_RDONLY, err) < 0)
        return -1;
    }
  return 0;
}

int
mount_pivot (const struct plan *p, int rootfd, berth_error_t *err)
{
  cleanup_close int oldroot = open ("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0)
    return berth_error (err, errno, "open /");
  if (fchdir (rootfd) < 0)
    return berth_error (err, errno, "chdir rootfs");
  if (syscall (SYS_pivot_root, ".", ".") == 0)
    {
      /* runc's trick: the old root is stacked under "."; detach it. */
      if (fchdir (oldroot) < 0 || mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0
          || umount2 (".", MNT_DETACH) < 0)
        return berth_error (err, errno, "detach old root");
    }
  else if (errno == EINVAL)
    {
      /* pivot_root cannot work on an initramfs root: move the rootfs over / and chroot. */
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0)
        return berth_error (err, errno, "chroot fallback");
    }
  else
    return berth_error (err, errno, "pivot_root");
  if (chdir ("/") < 0)
    return berth_error (err, errno, "chdir /");
  (void) p;
  return 0;
}

int
mount_finish_rootfs (const struct plan *p, berth_error_t *err)
{
  if (p->rootfs_readonly
      && mount (NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_locked_flags ("/"), NULL) < 0)
    return berth_error (err, errno, "remount / read-only");
  return 0;
}

void
mount_parse_options (char **options, size_t n, struct mopts *o)
{
  parse_options (options, n, o);
}
