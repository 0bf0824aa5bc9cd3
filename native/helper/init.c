/* The container's init (`--init`): pid 1 that does what the kernel expects of an init and a
 * shell does not: it reaps orphaned zombies and passes signals on to the real command (pid 1
 * ignores every signal it has no handler for, so `docker stop` would otherwise wait out the
 * timeout). Like tini, which Docker ships as docker-init, it exits as soon as the command does,
 * with the command's status; the kernel then ends the rest of the pid namespace. */
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int
init_requested (int argc, char **argv)
{
  const char *base = argc > 0 ? strrchr (argv[0], '/') : NULL;
  base = base ? base + 1 : (argc > 0 ? argv[0] : "");
  return strcmp (base, "berth-init") == 0 || (argc > 1 && strcmp (argv[1], "--init") == 0);
}

static void __attribute__ ((noreturn))
usage (void)
{
  fprintf (stderr, "usage: berth-init -- COMMAND [ARG]...\n");
  _exit (2);
}

int
init_main (int argc, char **argv)
{
  sigset_t all, old;
  int i = 1, status;
  pid_t child;

  if (i < argc && strcmp (argv[i], "--init") == 0)
    i++;
  if (i < argc && strcmp (argv[i], "--") == 0)
    i++;
  if (i >= argc)
    usage ();
  /* Outside a pid namespace (or not as pid 1) orphans must still come back to us. */
  if (getpid () != 1)
    (void) prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, &old);
  child = fork ();
  if (child < 0)
    {
      perror ("berth-init: fork");
      _exit (1);
    }
  if (child == 0)
    {
      /* The command gets the signal mask and dispositions it would have had without us. */
      sigprocmask (SIG_SETMASK, &old, NULL);
      execvp (argv[i], argv + i);
      fprintf (stderr, "berth-init: exec %s: %s\n", argv[i], strerror (errno));
      _exit (errno == ENOENT ? 127 : 126);
    }
  for (;;)
    {
      siginfo_t si;
      pid_t pid;
      int sig = sigwaitinfo (&all, &si);
      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          /* SIGKILL and SIGSTOP never reach us; everything else is the command's. */
          (void) kill (child, sig);
          continue;
        }
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        if (pid == child)
          _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
    }
}
