/* A user-namespaced container's rootfs shown through its id mapping (plan `rootfs_idmap`, set by
 * berthd's userns-remap): the image's layers stay owned by ids 0-65535 on disk, shared with every
 * other container, and appear shifted by the container's mapping through idmapped mounts
 * (mount_setattr MOUNT_ATTR_IDMAP, Linux 5.12; overlayfs on idmapped layers, 5.19).
 *
 * Of an overlay only the lower layers are idmapped (as containerd 2 does): overlayfs creates its
 * work dirs and copies up with the mounter's credentials, host root, which an idmapped upper dir
 * cannot represent. The upper dir is the container's own: it is handed to the container's root,
 * and what it writes there is owned by its host ids, as without idmapping.
 *
 * overlayfs takes private clones of its layers, which before Linux 6.15 must be mounts of the
 * caller's mount namespace. So a short-lived child in a private mount namespace mounts an
 * idmapped clone of each lower layer over the layer itself, creates the overlay as a detached
 * mount and hands its fd back; its namespace, and the clones in it, go when it exits. */
#include "mount.h"
#include "ns.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int
set_idmap (int fd, int userns_fd, int recursive, const char *what, berth_error_t *err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
  if (mount_setattr (fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof (attr)) < 0)
    return berth_error (err, errno, "idmapped mount of `%s` (needs Linux >= 5.12 and a filesystem that supports it)", what);
  return 0;
}

/* Mounts an idmapped clone of dir over dir (in the caller's, private, mount namespace). */
static int
idmap_in_place (const char *dir, int userns_fd, berth_error_t *err)
{
  cleanup_close int fd = open_tree (AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errno, "clone mount `%s`", dir);
  if (set_idmap (fd, userns_fd, 0, dir, err) < 0)
    return -1;
  if (move_mount (fd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return berth_error (err, errno, "mount the idmapped `%s`", dir);
  return 0;
}

/* The value of `key=` in a comma-separated option string, copied into out; 0 if absent. */
static int
option (const char *data, const char *key, char *out, size_t cap)
{
  size_t klen = strlen (key);
  for (const char *p = data; p != NULL && *p; p = strchr (p, ','), p = p ? p + 1 : NULL)
    if (strncmp (p, key, klen) == 0 && p[klen] == '=')
      {
        size_t len = strcspn (p + klen + 1, ",");
        snprintf (out, cap, "%.*s", (int) len, p + klen + 1);
        return 1;
      }
  return 0;
}

/* In the child: idmaps every lower layer in place, then makes the overlay. Returns its fd or -1. */
static int
overlay_in_private_ns (const struct plan *p, const struct plan_mount *m, const struct mopts *o, int userns_fd,
                       berth_error_t *err)
{
  char lower[sizeof (o->data)], upper[4096];
  char *save = NULL;
  long uid = ns_host_root (p->uid_maps, p->n_uid_maps), gid = ns_host_root (p->gid_maps, p->n_gid_maps);
  if (unshare (CLONE_NEWNS) < 0)
    return berth_error (err, errno, "unshare a mount namespace for the idmapped layers");
  /* Nothing mounted here may propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return berth_error (err, errno, "make the private mount namespace private");
  if (!option (o->data, "lowerdir", lower, sizeof (lower)))
    return berth_error (err, EINVAL, "overlay rootfs without lowerdir");
  for (char *dir = strtok_r (lower, ":", &save); dir != NULL; dir = strtok_r (NULL, ":", &save))
    if (idmap_in_place (dir, userns_fd, err) < 0)
      return -1;
  if (option (o->data, "upperdir", upper, sizeof (upper)) && uid >= 0 && gid >= 0
      && chown (upper, (uid_t) uid, (gid_t) gid) < 0)
    return berth_error (err, errno, "chown upper dir `%s` to the container's root", upper);
  return detached_fs (m, o, err);
}

static int
idmapped_overlay (const struct plan *p, const struct plan_mount *m, const struct mopts *o, int userns_fd, berth_error_t *err)
{
  int sv[2], fd = -1, st;
  struct isync_msg msg;
  pid_t pid;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return berth_error (err, errno, "socketpair");
  if ((pid = fork ()) < 0)
    {
      close (sv[0]), close (sv[1]);
      return berth_error (err, errno, "fork for the idmapped layers");
    }
  if (pid == 0)
    {
      berth_error_t cerr = { 0 };
      int mnt = overlay_in_private_ns (p, m, o, userns_fd, &cerr);
      if (mnt < 0)
        isync_fail (sv[1], &cerr);
      _exit (isync_send (sv[1], ISYNC_READY, NULL, mnt) < 0);
    }
  close (sv[1]);
  int r = isync_recv (sv[0], &msg, &fd);
  close (sv[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (r <= 0)
    return berth_error (err, EPIPE, "idmapped overlay: the helper's child died");
  if (msg.type == ISYNC_ERROR)
    {
      berth_error (err, msg.status, "%s", msg.msg);
      return -1;
    }
  if (fd < 0)
    return berth_error (err, EPROTO, "idmapped overlay: no mount came back");
  return fd;
}

int
mount_idmapped_rootfs (const struct plan *p, int userns_fd, berth_error_t *err)
{
  struct mopts o;
  int fd;
  if (p->n_rootfs_mounts > 1)
    return berth_error (err, ENOTSUP, "a user namespace container takes one rootfs mount, not %zu", p->n_rootfs_mounts);
  if (p->n_rootfs_mounts == 1)
    {
      const struct plan_mount *m = &p->rootfs_mounts[0];
      mount_parse_options (m->options, m->n_options, &o);
      if (strcmp (m->type, "overlay") == 0)
        return idmapped_overlay (p, m, &o, userns_fd, err);
      if (strcmp (m->type, "bind") != 0 && strcmp (m->type, "rbind") != 0 && !(o.flags & MS_BIND))
        return berth_error (err, ENOTSUP, "idmapped rootfs: %s mounts cannot be idmapped (overlay and bind can)", m->type);
      int rec = strcmp (m->type, "rbind") == 0 || (o.flags & MS_REC);
      if ((fd = detached_bind (m->source, rec, o.flags, err)) < 0)
        return -1;
      if (set_idmap (fd, userns_fd, rec, m->source, err) < 0)
        return close (fd), -1;
      return fd;
    }
  if ((fd = detached_bind (p->rootfs, 1, 0, err)) < 0)
    return -1;
  if (set_idmap (fd, userns_fd, 1, p->rootfs, err) < 0)
    return close (fd), -1;
  return fd;
}
