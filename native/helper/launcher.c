/* The launcher (PROTOCOL.md, "Launcher"). berthd spawns it once with fd 3 = a stream socket
 * carrying one request per line, `<token>\n`. For each, it forks; the child connects twice to
 * berthd's SOCKET, says `<token> plan <pid>\n` on the first connection and `<token> sync <pid>\n`
 * on the second, moves them to fds 3 and 4 and returns to main() as a helper. Forking this small
 * process costs ~0.1 ms; berthd forking itself cost 2-5 ms of its event loop per container and
 * then waited for the exec.
 * A line `rm <path>\n` forks a child that deletes the tree `path` (a deleted bundle or snapshot
 * in a trash dir): Node's recursive rm is a threadpool round trip and a callback on berthd's event
 * loop per entry, ~1.4 ms of its main thread per `ctr run --rm`.
 * A line `netns <token> <path>\n` forks a child that makes a network namespace with `lo` up and
 * bind-mounts it on `path`, then reports `<token> netns <errno>\n` on a connection of its own:
 * what berthd ran `unshare --net=PATH ip link set lo up` for (its own fork and two execs, ~8 ms
 * on a container's start).
 * `netns-rm <token> <path>\n` unmounts one the same way (what berthd ran `umount` for).
 * A line `exec <token>\n` runs a host tool for berthd (launcher_exec.c). */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"

#define TOKEN_MAX 64

int
launcher_dial (const char *sock_path, const char *token, const char *role, int value)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  char line[TOKEN_MAX + 32];
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int n;
  if (fd < 0)
    return -1;
  snprintf (sa.sun_path, sizeof (sa.sun_path), "%s", sock_path);
  n = snprintf (line, sizeof (line), "%s %s %d\n", token, role, value);
  if (connect (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0 || write_all (fd, line, (size_t) n) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* launcher_dial, the connection moved to fd `target`. */
static int
connect_as (const char *sock_path, const char *token, const char *role, int value, int target)
{
  int fd = launcher_dial (sock_path, token, role, value);
  if (fd < 0)
    return -1;
  if (fd != target && dup3 (fd, target, 0) < 0)
    {
      close (fd);
      return -1;
    }
  if (fd != target)
    close (fd);
  return 0;
}

static int
is_token (const char *s)
{
  size_t l = strlen (s);
  return l > 0 && l < TOKEN_MAX && strspn (s, "0123456789abcdef") == l;
}

/* Returns 1 in the forked child, ready to be a helper; 0 in the launcher. */
static int
launch (const char *sock_path, const char *token)
{
  pid_t pid = fork ();
  if (pid != 0)
    return 0; /* the launcher (or a failed fork: berthd times the request out) */
  signal (SIGCHLD, SIG_DFL);
  signal (SIGPIPE, SIG_DFL);
  /* The launcher's PDEATHSIG is not inherited across fork: the helper outlives berthd. */
  close (3);
  if (connect_as (sock_path, token, "plan", (int) getpid (), 3) < 0 || connect_as (sock_path, token, "sync", (int) getpid (), 4) < 0)
    _exit (1);
  return 1;
}

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  /* Errors are ignored: what is left stays in the trash, which berthd empties when it starts. */
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
    (void) rmdir (path);
  else
    (void) unlink (path);
  return 0;
}

/* Only trees directly inside a directory named `trash` or `.trash` (berthd's task and snapshot
   trash dirs), given by a plain absolute path: a confused request cannot take anything else. */
static int
removable (const char *path)
{
  const char *base = strrchr (path, '/'), *parent;
  size_t plen;
  if (path[0] != '/' || strlen (path) >= PATH_MAX || strstr (path, "/../") != NULL || strstr (path, "/./") != NULL
      || strstr (path, "//") != NULL || base == NULL || base == path || base[1] == '\0' || strcmp (base, "/..") == 0
      || strcmp (base, "/.") == 0)
    return 0;
  for (parent = base - 1; parent > path && *parent != '/'; parent--)
    ;
  plen = (size_t) (base - parent - 1);
  return (plen == 5 && memcmp (parent + 1, "trash", 5) == 0) || (plen == 6 && memcmp (parent + 1, ".trash", 6) == 0);
}

/* Deletes the tree in a child (depth first, not following symlinks, not crossing mounts). */
static void
remove_tree (const char *path)
{
  if (!removable (path))
    return;
  if (fork () != 0)
    return; /* the launcher; a failed fork leaves the tree for berthd's next start */
  close (3);
  (void) nftw (path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  _exit (0);
}

/* Only a plain absolute path directly inside a directory named `netns` (berthd's
   <state>/network/netns), to an existing regular file (the mount point berthd made). */
static int
netns_path_ok (const char *path)
{
  const char *base = strrchr (path, '/'), *parent;
  struct stat st;
  if (path[0] != '/' || strlen (path) >= PATH_MAX || strstr (path, "/../") != NULL || strstr (path, "/./") != NULL
      || strstr (path, "//") != NULL || base == NULL || base == path || base[1] == '\0' || base[1] == '.')
    return 0;
  for (parent = base - 1; parent > path && *parent != '/'; parent--)
    ;
  if ((size_t) (base - parent - 1) != 5 || memcmp (parent + 1, "netns", 5) != 0)
    return 0;
  return lstat (path, &st) == 0 && S_ISREG (st.st_mode);
}

/* In a forked child: a new network namespace, `lo` up in it, pinned on `path`. An errno or 0. */
static int
netns_at (const char *path)
{
  struct ifreq ifr;
  int s, r = 0;
  if (!netns_path_ok (path))
    return EINVAL;
  if (unshare (CLONE_NEWNET) < 0)
    return errno;
  s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return errno;
  memset (&ifr, 0, sizeof (ifr));
  memcpy (ifr.ifr_name, "lo", 3);
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    r = errno;
  else
    {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
        r = errno;
    }
  close (s);
  if (r == 0 && mount ("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
    r = errno;
  return r;
}

/* In a forked child: the namespace pinned on `path` unmounted (the kernel frees it, and takes
   its interfaces down, once nothing else holds it). An errno or 0. */
static int
netns_unmount (const char *path)
{
  if (!netns_path_ok (path))
    return EINVAL;
  return umount2 (path, UMOUNT_NOFOLLOW) < 0 ? errno : 0;
}

/* `<token> <path>`: `op` on the namespace in a child, which reports back and exits. */
static void
netns_request (const char *sock_path, char *req, int (*op) (const char *))
{
  char *path = strchr (req, ' ');
  if (path == NULL)
    return;
  *path++ = '\0';
  if (!is_token (req))
    return;
  if (fork () != 0)
    return; /* the launcher; a failed fork: berthd times the request out */
  close (3);
  {
    int fd = launcher_dial (sock_path, req, "netns", op (path));
    if (fd >= 0)
      close (fd);
  }
  _exit (0);
}

void
launcher_main (const char *sock_path)
{
  char buf[4096];
  size_t len = 0;

  if (strlen (sock_path) >= sizeof (((struct sockaddr_un *) 0)->sun_path))
    exit (2);
  /* Dies with berthd (the helpers it forked live on, reparented). */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid () == 1)
    exit (0);
  signal (SIGCHLD, SIG_IGN); /* the helpers are reaped by the kernel, not by us */
  signal (SIGPIPE, SIG_IGN);
  if (syscall (SYS_close_range, 4, ~0U, 0) < 0)
    for (int fd = 4; fd < 1024; fd++)
      (void) close (fd);
  for (;;)
    {
      ssize_t n = read (3, buf + len, sizeof (buf) - len);
      char *nl;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        exit (0); /* berthd closed the channel */
      len += (size_t) n;
      while ((nl = memchr (buf, '\n', len)) != NULL)
        {
          size_t l = (size_t) (nl - buf);
          *nl = '\0';
          if (is_token (buf))
            {
              char token[TOKEN_MAX];
              memcpy (token, buf, l + 1);
              if (launch (sock_path, token))
                return;
            }
          else if (l > 3 && memcmp (buf, "rm ", 3) == 0)
            remove_tree (buf + 3);
          else if (l > 6 && memcmp (buf, "netns ", 6) == 0)
            netns_request (sock_path, buf + 6, netns_at);
          else if (l > 9 && memcmp (buf, "netns-rm ", 9) == 0)
            netns_request (sock_path, buf + 9, netns_unmount);
          else if (l > 5 && memcmp (buf, "exec ", 5) == 0 && is_token (buf + 5))
            launcher_exec (sock_path, buf + 5);
          memmove (buf, nl + 1, len - l - 1);
          len -= l + 1;
        }
      if (len == sizeof (buf))
        len = 0; /* a line longer than any request */
    }
}
