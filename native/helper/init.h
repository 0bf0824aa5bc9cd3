/* --init: a tiny pid 1 for containers (Docker's docker-init / tini), in the helper binary. */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

/* The binary is bind-mounted into a container as INIT_PATH; run there it is the init. */
#define INIT_PATH "/sbin/berth-init"

/* True when argv asks for init mode: `berth-init -- cmd...` or `berth-helper --init -- cmd...`. */
int init_requested (int argc, char **argv);
/* Runs the command as a child, forwards signals to it, reaps every zombie, and exits with its
   status (128+signal when killed). Never returns. */
int __attribute__ ((noreturn)) init_main (int argc, char **argv);

#endif
