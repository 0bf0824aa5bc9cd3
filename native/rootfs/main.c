/* berth-rootfs: one operation on a container's filesystem (or a volume), confined to it. See
 * PROTOCOL.md.
 *
 *   berth-rootfs ROOT copy-up PATH DEST
 *   berth-rootfs ROOT stat PATH
 *   berth-rootfs ROOT extract PATH [--chown UID:GID] [--uidmap MAP] [--gidmap MAP]   (tar on stdin)
 *   berth-rootfs ROOT archive PATH (--name NAME | --contents) [--uidmap MAP] [--gidmap MAP]  (tar on stdout)
 *
 *   ROOT: --root DIR | --pid PID | --mount TYPE SOURCE [--option OPT]... --tmpdir DIR [--bind SRC DEST[:ro]]...
 *
 *   berth-rootfs mount-volume TYPE DEVICE TARGET FLAGS DATA
 *   berth-rootfs umount-volume TARGET
 *   berth-rootfs changes overlay UPPER [LOWER]...      (lowers top first)
 *   berth-rootfs changes compare NEW OLD
 */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../unpack/resolve.h"

#define MAX_ARGS 256
#define USAGE                                                                                                          \
  "usage: berth-rootfs (--root DIR | --pid PID | --mount TYPE SOURCE [--option OPT]... --tmpdir DIR [--bind SRC "     \
  "DEST[:ro]]...) (copy-up PATH DEST | stat PATH | extract PATH [--chown UID:GID] [--uidmap MAP] [--gidmap MAP] | "  \
  "archive PATH (--name NAME | --contents) [--uidmap MAP] [--gidmap MAP])"

static const char *
kind_of (const bu_error_t *err)
{
  if (err->invalid == BR_NOTFOUND)
    return "notfound";
  if (err->invalid == BR_CONFLICT)
    return "conflict";
  if (err->status == EROFS)
    return "readonly";
  if (err->status == EACCES || err->status == EPERM)
    return "permission";
  return err->invalid ? "invalid" : "internal";
}

static int
usage (const char *msg)
{
  bu_error_t err = { .status = EINVAL };
  snprintf (err.msg, sizeof (err.msg), "%s; %s", msg, USAGE);
  return br_fail ("usage", &err);
}

/* copy-up PATH DEST: DEST (a volume's directory on the host) gets the tree at PATH if PATH is a
 * directory in the root and DEST is empty; otherwise nothing is copied and the reason is said. */
static int
copy_up (int rootfd, const char *path, const char *dest, bu_error_t *err)
{
  char clean[8192], fields[256];
  struct copy_stats st = { 0 };
  cleanup_close int src = -1, dst = -1, probe = -1;
  const char *skip = NULL;

  if (strlen (path) >= sizeof (clean))
    return bu_invalid (err, ENAMETOOLONG, "path");
  clean_path (path, clean);
  src = openat2_in_root (rootfd, clean, O_PATH | O_DIRECTORY);
  if (src < 0 && (errno == ENOENT || errno == ENOTDIR))
    skip = errno == ENOENT ? "missing" : "not a directory";
  else if (src < 0)
    return bu_sys (err, errno, "open `/%s`", clean);
  dst = open (dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return bu_sys (err, errno, "open volume directory `%s`", dest);
  if (!skip)
    {
      /* Docker copies only into an empty volume. */
      char buf[4096];
      long n;
      probe = openat (dst, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      while (probe >= 0 && (n = getdents64 (probe, buf, sizeof (buf))) > 0)
        for (long off = 0; off < n && !skip;)
          {
            struct dirent64 *de = (struct dirent64 *) (buf + off);
            if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
              skip = "not empty";
            off += de->d_reclen;
          }
      if (probe < 0)
        return bu_sys (err, errno, "read volume directory `%s`", dest);
    }
  if (!skip && copy_tree (src, dst, &st, err) < 0)
    return bu_wrap (err, "copy `/%s`", clean);
  if (skip)
    snprintf (fields, sizeof (fields), "\"copied\":false,\"reason\":\"%s\"", skip);
  else
    snprintf (fields, sizeof (fields), "\"copied\":true,\"entries\":%llu,\"bytes\":%llu", (unsigned long long) st.entries,
              (unsigned long long) st.bytes);
  br_done (fields);
  return 0;
}

static int
parse_ids (const char *s, struct extract_opts *o)
{
  unsigned long u, g;
  char end;
  if (sscanf (s, "%lu:%lu%c", &u, &g, &end) != 2)
    return -1;
  o->chown = 1, o->uid = (uid_t) u, o->gid = (gid_t) g;
  return 0;
}

int
main (int argc, char **argv)
{
  static char *options[MAX_ARGS];
  static struct bind_spec binds[MAX_ARGS];
  struct root_spec spec = { .options = options, .binds = binds };
  struct extract_opts xo = { 0 };
  struct archive_opts ao = { 0 };
  struct rlimit rl;
  bu_error_t err = { 0 };
  const char *cmd = NULL, *args[2] = { NULL, NULL };
  int nargs = 0, i, rootfd, rc = 0;

  signal (SIGPIPE, SIG_IGN);
  umask (0);
  if (argc == 7 && strcmp (argv[1], "mount-volume") == 0)
    {
      char *end;
      unsigned long flags = strtoul (argv[5], &end, 10);
      if (*end)
        return usage ("FLAGS is a number");
      if (volume_mount (argv[2], argv[3], argv[4], flags, argv[6], &err) < 0)
        return br_fail (kind_of (&err), &err);
      br_done ("");
      return 0;
    }
  if (argc >= 4 && strcmp (argv[1], "changes") == 0)
    {
      int compare = strcmp (argv[2], "compare") == 0, fds[MAX_ARGS], nfds = 0, upper;
      if (!compare && strcmp (argv[2], "overlay") != 0)
        return usage ("changes overlay UPPER [LOWER]... | changes compare NEW OLD");
      if ((compare && argc != 5) || argc - 4 > MAX_ARGS)
        return usage ("changes compare NEW OLD");
      upper = open (argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (upper < 0)
        return bu_sys (&err, errno, "open `%s`", argv[3]), br_fail ("internal", &err);
      for (i = 4; i < argc; i++)
        if ((fds[nfds++] = open (argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
          return bu_sys (&err, errno, "open `%s`", argv[i]), br_fail ("internal", &err);
      if (list_changes (upper, fds, (size_t) nfds, compare, &err) < 0)
        return br_fail (kind_of (&err), &err);
      br_done ("");
      return 0;
    }
  if (argc == 3 && strcmp (argv[1], "umount-volume") == 0)
    {
      if (volume_umount (argv[2], &err) < 0)
        return br_fail (kind_of (&err), &err);
      br_done ("");
      return 0;
    }
  /* A deep tree holds two fds per level while it is copied. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--root") == 0 && i + 1 < argc)
        spec.dir = argv[++i];
      else if (strcmp (a, "--pid") == 0 && i + 1 < argc)
        spec.pid = atoi (argv[++i]);
      else if (strcmp (a, "--mount") == 0 && i + 2 < argc)
        spec.mtype = argv[++i], spec.msource = argv[++i];
      else if (strcmp (a, "--option") == 0 && i + 1 < argc && spec.noptions < MAX_ARGS)
        options[spec.noptions++] = argv[++i];
      else if (strcmp (a, "--tmpdir") == 0 && i + 1 < argc)
        spec.tmpdir = argv[++i];
      else if (strcmp (a, "--bind") == 0 && i + 2 < argc && spec.nbinds < MAX_ARGS)
        {
          struct bind_spec *b = &binds[spec.nbinds++];
          char *dst = argv[i + 2];
          size_t n = strlen (dst);
          b->source = argv[i + 1];
          if (n > 3 && strcmp (dst + n - 3, ":ro") == 0)
            dst[n - 3] = 0, b->readonly = 1;
          b->destination = dst;
          i += 2;
        }
      else if (strcmp (a, "--chown") == 0 && i + 1 < argc)
        {
          if (parse_ids (argv[++i], &xo) < 0)
            return usage ("--chown takes UID:GID");
        }
      else if (strcmp (a, "--uidmap") == 0 && i + 1 < argc)
        xo.uidmap = ao.uidmap = argv[++i];
      else if (strcmp (a, "--gidmap") == 0 && i + 1 < argc)
        xo.gidmap = ao.gidmap = argv[++i];
      else if (strcmp (a, "--name") == 0 && i + 1 < argc)
        ao.name = argv[++i];
      else if (strcmp (a, "--contents") == 0)
        ao.contents_only = 1;
      else if (a[0] == '-' && a[1] != 0)
        return usage ("unknown option");
      else if (cmd == NULL)
        cmd = a;
      else if (nargs < 2)
        args[nargs++] = a;
      else
        return usage ("too many arguments");
    }
  if ((spec.dir != NULL) + (spec.pid > 0) + (spec.mtype != NULL) != 1)
    return usage ("give exactly one of --root, --pid, --mount");
  if (spec.mtype != NULL && spec.tmpdir == NULL)
    return usage ("--mount needs --tmpdir");
  if (spec.nbinds > 0 && spec.mtype == NULL)
    return usage ("--bind goes with --mount");
  if (cmd == NULL)
    return usage ("missing command");
  if (!((strcmp (cmd, "copy-up") == 0 && nargs == 2) || (strcmp (cmd, "stat") == 0 && nargs == 1)
        || (strcmp (cmd, "extract") == 0 && nargs == 1) || (strcmp (cmd, "archive") == 0 && nargs == 1)))
    return usage ("bad command or arguments");
  if (strcmp (cmd, "archive") == 0 && (ao.name == NULL) == !ao.contents_only)
    return usage ("archive takes --name NAME or --contents");

  rootfd = root_open (&spec, &err);
  if (rootfd < 0)
    return br_fail (kind_of (&err), &err);
  if (strcmp (cmd, "copy-up") == 0)
    rc = copy_up (rootfd, args[0], args[1], &err);
  else if (strcmp (cmd, "stat") == 0)
    rc = stat_path (rootfd, args[0], &err);
  else if (strcmp (cmd, "archive") == 0)
    rc = archive_path (rootfd, args[0], &ao, &err);
  else
    {
      uint64_t entries = 0;
      rc = extract_tar (rootfd, args[0], 0, &xo, &entries, &err);
      if (rc == 0)
        {
          char fields[64];
          snprintf (fields, sizeof (fields), "\"entries\":%llu", (unsigned long long) entries);
          br_done (fields);
        }
    }
  close (rootfd);
  root_close ();
  return rc < 0 ? br_fail (kind_of (&err), &err) : 0;
}
