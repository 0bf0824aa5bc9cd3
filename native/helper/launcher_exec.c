/* The launcher's `exec <token>\n` (PROTOCOL.md, "Launcher"): a host tool (a CNI plugin, umount)
 * run for berthd by a child of the launcher, so that berthd does not fork itself (~100 MB of page
 * tables copied while its event loop waits) for each one. The child dials berthd twice: `<token>
 * exec-io <pid>`, which becomes the tool's stdin and stdout, and `<token> exec-ctl <pid>`, which
 * carries the request (argv and environment) and then the answer: `pid <tool pid>\n`, and once
 * the tool has exited `exit <code> <signal> <exec errno>\n` followed by its stderr. The tool leads
 * a process group of its own, which berthd kills at its deadline; this child then reaps it. */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

#define REQUEST_MAX (64 * 1024)
#define ARGS_MAX 256
#define STDERR_MAX (1024 * 1024)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int
read_full (int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      got += (size_t) n;
    }
  return 0;
}

/* `n` NUL-terminated strings from p (up to end), ended by an empty one, into out (NULL-ended). */
static char *
split (char *p, char *end, char **out, size_t max)
{
  size_t n = 0;
  while (p < end && *p != '\0')
    {
      char *nul = memchr (p, '\0', (size_t) (end - p));
      if (nul == NULL || n + 1 >= max)
        return NULL;
      out[n++] = p;
      p = nul + 1;
    }
  out[n] = NULL;
  return p < end ? p + 1 : NULL;
}

/* execve of `file`, looked up in the request's PATH when it has no slash (as execvp would). */
static void
exec_tool (const char *file, char **argv, char **envp)
{
  const char *path = DEFAULT_PATH;
  char buf[4096];
  int saved = ENOENT;
  if (strchr (file, '/') != NULL)
    {
      execve (file, argv, envp);
      return;
    }
  for (char **e = envp; *e != NULL; e++)
    if (strncmp (*e, "PATH=", 5) == 0)
      path = *e + 5;
  while (*path != '\0')
    {
      const char *colon = strchr (path, ':');
      size_t l = colon ? (size_t) (colon - path) : strlen (path);
      if (l > 0 && l + strlen (file) + 2 <= sizeof (buf))
        {
          memcpy (buf, path, l);
          buf[l] = '/';
          strcpy (buf + l + 1, file);
          execve (buf, argv, envp);
          if (errno != ENOENT)
            saved = errno;
        }
      path += l + (colon ? 1 : 0);
    }
  errno = saved;
}

void
launcher_exec (const char *sock_path, const char *token)
{
  static char req[REQUEST_MAX];
  char *argv[ARGS_MAX], *envp[ARGS_MAX], *p, line[96];
  static char errbuf[STDERR_MAX];
  size_t errlen = 0;
  uint32_t len;
  int io, ctl, errp[2], execp[2], status, exec_errno = 0, n;
  pid_t tool;

  if (fork () != 0)
    return; /* the launcher; a failed fork: berthd times the request out */
  close (3);
  signal (SIGCHLD, SIG_DFL); /* the launcher ignores it: waitpid below would find no child */
  io = launcher_dial (sock_path, token, "exec-io", (int) getpid ());
  ctl = io < 0 ? -1 : launcher_dial (sock_path, token, "exec-ctl", (int) getpid ());
  if (ctl < 0 || read_full (ctl, &len, sizeof (len)) < 0 || len == 0 || len > REQUEST_MAX || read_full (ctl, req, len) < 0)
    _exit (1);
  p = split (req, req + len, argv, ARGS_MAX);
  if (p == NULL || argv[0] == NULL || split (p, req + len, envp, ARGS_MAX) == NULL)
    _exit (1);
  if (pipe2 (errp, O_CLOEXEC) < 0 || pipe2 (execp, O_CLOEXEC) < 0)
    _exit (1);
  tool = fork ();
  if (tool < 0)
    _exit (1);
  if (tool == 0)
    {
      int e;
      signal (SIGPIPE, SIG_DFL);
      setpgid (0, 0); /* berthd kills the group at its deadline: the tool and what it started */
      if (dup2 (io, 0) < 0 || dup2 (io, 1) < 0 || dup2 (errp[1], 2) < 0)
        _exit (127);
      if (syscall (SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 1024; fd++)
          if (fd != execp[1])
            (void) fcntl (fd, F_SETFD, FD_CLOEXEC);
      exec_tool (argv[0], argv, envp);
      e = errno;
      (void) write_all (execp[1], &e, sizeof (e));
      _exit (127);
    }
  /* Only the tool (and what it starts) holds the io connection and the stderr pipe now: berthd
     sees EOF on stdout, and we on stderr, when they are done. */
  close (io);
  close (errp[1]);
  close (execp[1]);
  n = snprintf (line, sizeof (line), "pid %d\n", (int) tool);
  (void) write_all (ctl, line, (size_t) n);
  for (;;)
    {
      char chunk[4096];
      ssize_t r = read (errp[0], chunk, sizeof (chunk));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      if (errlen < sizeof (errbuf))
        {
          size_t take = (size_t) r < sizeof (errbuf) - errlen ? (size_t) r : sizeof (errbuf) - errlen;
          memcpy (errbuf + errlen, chunk, take);
          errlen += take;
        }
    }
  if (read_full (execp[0], &exec_errno, sizeof (exec_errno)) < 0)
    exec_errno = 0;
  while (waitpid (tool, &status, 0) < 0)
    if (errno != EINTR)
      _exit (1);
  n = snprintf (line, sizeof (line), "exit %d %d %d\n", WIFEXITED (status) ? WEXITSTATUS (status) : -1,
                WIFSIGNALED (status) ? WTERMSIG (status) : 0, exec_errno);
  (void) write_all (ctl, line, (size_t) n);
  (void) write_all (ctl, errbuf, errlen);
  _exit (0);
}
