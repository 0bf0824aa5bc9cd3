/* The monitor: after exec the helper stays as the container's tiny parent. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <stdint.h>
#include <time.h>
#include "helper.h"
#include "logfile.h"

#define MAX_CLIENTS 16
#define CLIENT_BUF 256
#define MONITOR_SOCK "monitor.sock"
#define EXIT_FILE "exit.json"

/* Streams an attacher asked for (attach.c). */
#define ATTACH_STDIN 1
#define ATTACH_STDOUT 2
#define ATTACH_STDERR 4

struct client
{
  int fd;
  int waiting;
  size_t len;
  char buf[CLIENT_BUF];
  /* Attach mode (attach.c); attached == 0: a request connection. */
  int attached;
  unsigned char hdr[8];
  size_t hdr_len;
  int in_type;                 /* stream of the incoming frame being read */
  size_t in_left;              /* its payload bytes still to read */
  char ctl[64];                /* a control frame's payload */
  size_t ctl_len;
  char *pend;                  /* the rest of an outgoing frame the socket did not take */
  size_t pend_len, pend_off;
  uint64_t dropped;            /* output bytes dropped since the last notice */
  int slow;                    /* made no progress for ATTACH_STALL_MS: dropped for, not waited for */
  int64_t stall_since;         /* CLOCK_MONOTONIC ms since its socket is full, 0 when it is not */
};

/* How long an attacher whose socket is full may hold the process's output up (attach.c). */
#define ATTACH_STALL_MS 500

struct monitor
{
  struct helper *h;
  int lfd, sfd, oomfd, oom_v2;
  long oom_base;
  int oom;
  int exited, status;
  struct timespec exited_at;
  struct client cl[MAX_CLIENTS];
  struct logfile log;
  int in_close_pending; /* close stdin once the bytes in the stdin pump are written */
};

/* control.c: one request line from a client; answers on c->fd (or defers "wait"). */
void control_handle (struct monitor *m, struct client *c, char *line);
/* Sends one JSON line; closes the client on failure. */
void control_reply (struct client *c, const char *json);
/* attach.c: capture mode (the monitor holds stdout/stderr: log + attachers). */
void attach_start (struct monitor *m, struct client *c, char *args);
void attach_on_readable (struct monitor *m, struct client *c);
void attach_on_writable (struct client *c);
/* True while an attacher that reads holds the output up; lowers *timeout_ms (-1 = none) to when
   its budget ends (then it is marked slow). */
int attach_stalled (struct monitor *m, int *timeout_ms);
/* poll events an attached client needs now (0: leave it out of the poll set). */
short attach_poll_events (struct monitor *m, struct client *c);
/* Reads one chunk of stdout (0) or stderr (1): 1 data, 0 nothing now, -1 end. */
int capture_read (struct monitor *m, int i);
/* At exit: reads what is left in the pipes, ends the log lines, sends attachers the exit. */
void capture_finish (struct monitor *m, const char *exit_fields);
/* close-stdin: a pipe is closed (after the bytes already taken), a terminal gets VEOF. */
int monitor_close_stdin (struct monitor *m);
void client_close (struct client *c);

/* The JSON body describing the exit ("exit_status":..,"exited_at_ns":..,"oom_killed":..). */
void control_exit_fields (struct monitor *m, char *buf, size_t cap);

#endif
