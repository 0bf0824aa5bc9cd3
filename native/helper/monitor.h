/* The monitor: after exec the helper stays as the container's tiny parent. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <time.h>
#include "helper.h"

#define MAX_CLIENTS 16
#define CLIENT_BUF 256
#define MONITOR_SOCK "monitor.sock"
#define EXIT_FILE "exit.json"

struct client
{
  int fd;
  int waiting;
  size_t len;
  char buf[CLIENT_BUF];
};

struct monitor
{
  struct helper *h;
  int lfd, sfd, oomfd, oom_v2;
  long oom_base;
  int oom;
  int exited, status;
  struct timespec exited_at;
  struct client cl[MAX_CLIENTS];
};

/* control.c: one request line from a client; answers on c->fd (or defers "wait"). */
void control_handle (struct monitor *m, struct client *c, char *line);
/* Sends one JSON line; closes the client on failure. */
void control_reply (struct client *c, const char *json);
/* The JSON body describing the exit ("exit_status":..,"exited_at_ns":..,"oom_killed":..). */
void control_exit_fields (struct monitor *m, char *buf, size_t cap);

#endif
