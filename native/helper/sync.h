/* Messages: NDJSON lines to Node on fd 4, and fixed-size records between the
 * helper (outside) and its child (the future container process). */
#ifndef BERTH_SYNC_H
#define BERTH_SYNC_H

#include <sys/types.h>
#include "error.h"

#define SYNC_LINE_MAX 4096

/* The one function that writes every Node-bound message. type: created|started|error.
 * pid < 0 omits the pid; err is used only for "error". */
int sync_write_msg (int fd, const char *type, pid_t pid, const berth_error_t *err);
/* Reads one '\n'-terminated line (without the newline) byte by byte; 0 on EOF, -1 on error. */
ssize_t sync_read_line (int fd, char *buf, size_t cap);
/* Appends s to buf as a JSON string body (escaped, no quotes); returns new length. */
size_t json_escape (char *buf, size_t off, size_t cap, const char *s);

enum { ISYNC_GO = 1, ISYNC_READY, ISYNC_START, ISYNC_ERROR };
struct isync_msg
{
  int type;
  int status;
  char stage[16];
  char msg[BERTH_MSG_MAX];
};
/* SOCK_SEQPACKET between helper and child; passfd >= 0 is sent with SCM_RIGHTS. */
int isync_send (int fd, int type, const berth_error_t *err, int passfd);
/* Returns 1 with a message, 0 on EOF, -1 on error; *passfd receives an fd or -1. */
int isync_recv (int fd, struct isync_msg *m, int *passfd);
/* Child side: report err to the helper and exit. */
void __attribute__ ((noreturn)) isync_fail (int fd, berth_error_t *err);

#endif
