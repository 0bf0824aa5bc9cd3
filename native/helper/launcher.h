/* `berth-helper --launcher SOCKET`: a small resident parent that forks helpers for berthd, so
 * berthd (a Node process of ~100 MB) does not fork itself for every container. */
#ifndef BERTH_LAUNCHER_H
#define BERTH_LAUNCHER_H

/* Serves launch requests; returns only in a forked child whose fds 3 (plan) and 4 (sync) are
   connected to berthd, which then carries on as a helper spawned by berthd. */
void launcher_main (const char *sock_path);

#endif
