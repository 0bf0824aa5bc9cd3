/* The protocol lines (JSON on stderr), written by one function each. */
#include "rootfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../unpack/decode.h"

void
br_json_string (char *buf, size_t cap, size_t *o, const char *s)
{
  if (*o + 2 >= cap)
    return;
  buf[(*o)++] = '"';
  for (; *s && *o + 8 < cap; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        {
          buf[(*o)++] = '\\';
          buf[(*o)++] = (char) c;
        }
      else if (c < 0x20 || c == 0x7f)
        *o += (size_t) snprintf (buf + *o, cap - *o, "\\u%04x", c);
      else
        buf[(*o)++] = (char) c; /* UTF-8 passes through; Node decodes it (invalid bytes become U+FFFD) */
    }
  buf[(*o)++] = '"';
}

static void
line (const char *type, const char *kind, int status, const char *msg, const char *fields)
{
  char out[4 * BU_MSG_MAX + 8192];
  size_t o = 0;

  o += (size_t) snprintf (out, sizeof (out), "{\"type\":\"%s\"", type);
  if (kind)
    o += (size_t) snprintf (out + o, sizeof (out) - o, ",\"kind\":\"%s\",\"errno\":%d", kind, status);
  if (msg)
    {
      o += (size_t) snprintf (out + o, sizeof (out) - o, ",\"msg\":");
      br_json_string (out, sizeof (out) - 4, &o, msg);
    }
  if (fields && fields[0] && o + strlen (fields) + 4 < sizeof (out))
    o += (size_t) snprintf (out + o, sizeof (out) - o, ",%s", fields);
  out[o++] = '}';
  out[o++] = '\n';
  write_all (2, out, o);
}

void
br_warning (const char *fmt, ...)
{
  char msg[BU_MSG_MAX];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof (msg), fmt, ap);
  va_end (ap);
  line ("warning", NULL, 0, msg, NULL);
}

void
br_done (const char *fields)
{
  line ("done", NULL, 0, NULL, fields);
}

int
br_fail (const char *kind, const bu_error_t *err)
{
  line ("error", kind, err->status, err->msg, NULL);
  return strcmp (kind, "usage") == 0 ? 64 : strcmp (kind, "internal") == 0 ? 2 : 1;
}

/* unpack/reader.c can read through its decoder thread; berth-rootfs never starts one (it reads
 * a plain tar from stdin: Node inflates a compressed one), so this is only the symbol the
 * reader links against. */
int
decoder_next (struct decoder *d, unsigned char **buf, size_t *len, bu_error_t *err)
{
  (void) d;
  (void) buf;
  (void) len;
  return bu_sys (err, ENOSYS, "berth-rootfs reads a plain tar");
}
