/* `berth-helper --launcher SOCKET`: a small resident parent that forks helpers for berthd, so
 * berthd (a Node process of ~100 MB) does not fork itself for every container. */
#ifndef BERTH_LAUNCHER_H
#define BERTH_LAUNCHER_H

/* Serves launch requests; returns only in a forked child whose fds 3 (plan) and 4 (sync) are
   connected to berthd, which then carries on as a helper spawned by berthd. */
void launcher_main (const char *sock_path);

/* Connects to berthd's SOCKET and says `<token> <role> <value>\n`; the connected fd or -1. */
int launcher_dial (const char *sock_path, const char *token, const char *role, int value);

/* `exec <token>`: runs a host tool for berthd in a forked child (launcher_exec.c). */
void launcher_exec (const char *sock_path, const char *token);

#endif
