/* The json-file log: one JSON object a line, {"log":"...","stream":"stdout","time":"..."},
 * byte for byte what Docker's json-file driver writes (daemon/logger/jsonfilelog), with its
 * size rotation (<path>, <path>.1, ... <path>.N-1). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "error.h"

/* Encoded entries go out through this buffer; a line rarely needs more than one write. */
#define OUT_MAX (32 * 1024)
static char out[OUT_MAX];

void
logfile_open (struct logfile *lf, const struct plan_capture *c)
{
  struct stat st;
  lf->fd = -1;
  lf->path = c->log_path;
  lf->max_size = c->log_max_size;
  lf->max_files = c->log_max_files ? c->log_max_files : 1;
  lf->size = 0;
  if (lf->path == NULL)
    return;
  lf->fd = open (lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (lf->fd >= 0 && fstat (lf->fd, &st) == 0)
    lf->size = st.st_size;
}

void
logfile_close (struct logfile *lf)
{
  if (lf->fd >= 0)
    close (lf->fd);
  lf->fd = -1;
}

/* Length of the valid UTF-8 sequence at s (Go's utf8.DecodeRune rules), 0 if invalid. */
static size_t
utf8_len (const unsigned char *s, size_t n)
{
  unsigned char b = s[0], lo = 0x80, hi = 0xbf;
  size_t need;
  if (b >= 0xc2 && b <= 0xdf)
    need = 2;
  else if (b >= 0xe0 && b <= 0xef)
    {
      need = 3;
      if (b == 0xe0)
        lo = 0xa0;
      else if (b == 0xed)
        hi = 0x9f; /* no surrogates */
    }
  else if (b >= 0xf0 && b <= 0xf4)
    {
      need = 4;
      if (b == 0xf0)
        lo = 0x90;
      else if (b == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;
  if (n < need || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return need;
}

/* The body of a JSON string (no quotes); the caller leaves room for 6 bytes per input byte. */
static size_t
escape_bytes (char *o, size_t off, const char *str, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *) str;
  for (size_t i = 0; i < len;)
    {
      unsigned char b = s[i];
      size_t sz;
      if (b < 0x80)
        {
          if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&')
            o[off++] = (char) b;
          else if (b == '\\' || b == '"')
            o[off++] = '\\', o[off++] = (char) b;
          else if (b == '\n')
            o[off++] = '\\', o[off++] = 'n';
          else if (b == '\r')
            o[off++] = '\\', o[off++] = 'r';
          else
            {
              memcpy (o + off, "\\u00", 4);
              off += 4;
              o[off++] = hex[b >> 4];
              o[off++] = hex[b & 0xf];
            }
          i++;
          continue;
        }
      sz = utf8_len (s + i, len - i);
      if (sz == 0)
        {
          memcpy (o + off, "\\ufffd", 6);
          off += 6;
          i++;
          continue;
        }
      /* U+2028 and U+2029 are escaped (they end lines in JavaScript). */
      if (sz == 3 && b == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
        {
          memcpy (o + off, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
          off += 6;
        }
      else
        {
          memcpy (o + off, s + i, sz);
          off += sz;
        }
      i += sz;
    }
  return off;
}

size_t
logfile_json_string (char *o, size_t off, size_t cap, const char *s, size_t len)
{
  if (cap < off || cap - off < len * 6 + 2)
    return 0;
  o[off++] = '"';
  off = escape_bytes (o, off, s, len);
  o[off++] = '"';
  return off;
}

size_t
logfile_time (char *o, size_t cap, const struct timespec *ts)
{
  struct tm tm;
  char frac[16] = "";
  time_t t = ts->tv_sec;
  gmtime_r (&t, &tm);
  if (ts->tv_nsec != 0)
    {
      size_t n = (size_t) snprintf (frac, sizeof (frac), ".%09ld", ts->tv_nsec);
      while (n > 1 && frac[n - 1] == '0')
        frac[--n] = '\0';
    }
  return (size_t) snprintf (o, cap, "\"%04d-%02d-%02dT%02d:%02d:%02d%sZ\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                            tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Docker rotates before a write once the file has reached max-size (loggerutils.LogFile). */
static void
rotate (struct logfile *lf)
{
  char from[4096], to[4096];
  if (lf->fd >= 0)
    close (lf->fd);
  for (unsigned i = lf->max_files - 1; lf->max_files >= 2 && i > 1; i--)
    {
      snprintf (from, sizeof (from), "%s.%u", lf->path, i - 1);
      snprintf (to, sizeof (to), "%s.%u", lf->path, i);
      (void) rename (from, to);
    }
  if (lf->max_files >= 2)
    {
      snprintf (to, sizeof (to), "%s.1", lf->path);
      (void) rename (lf->path, to);
    }
  lf->fd = open (lf->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  lf->size = 0;
}

static void
flush_out (struct logfile *lf, size_t n)
{
  if (n == 0 || lf->fd < 0)
    return;
  if (write_all (lf->fd, out, n) < 0)
    lf->write_errors++;
  else
    lf->size += (int64_t) n;
}

/* One entry: `data` is the line without its newline; `newline` marks a complete line. */
static void
emit (struct logfile *lf, int stream, const char *data, size_t len, int newline, const struct timespec *ts)
{
  static const char *names[2] = { "\"stdout\"", "\"stderr\"" };
  size_t n = 0;
  if (lf->fd < 0 && lf->path == NULL)
    return;
  if (lf->max_size > 0 && lf->size >= lf->max_size)
    rotate (lf);
  if (lf->fd < 0)
    return;
  memcpy (out, "{\"log\":", 7);
  n = 7;
  /* The escaped text goes out in slices that fit the buffer (a line of 16 KiB escapes to at
     most 96 KiB); one write for the usual line. */
  out[n++] = '"';
  for (size_t i = 0; i < len;)
    {
      size_t take = len - i;
      if (take > (OUT_MAX - 128 - n) / 6)
        take = (OUT_MAX - 128 - n) / 6;
      if (take < 8 && take < len - i)
        {
          flush_out (lf, n);
          n = 0;
          continue;
        }
      /* Never cut a UTF-8 sequence between slices: back up to its first byte. */
      for (int k = 0; k < 3 && take < len - i && ((unsigned char) data[i + take] & 0xc0) == 0x80; k++)
        take--;
      n = escape_bytes (out, n, data + i, take);
      i += take;
    }
  if (newline)
    out[n++] = '\\', out[n++] = 'n';
  n += (size_t) snprintf (out + n, OUT_MAX - n, "\",\"stream\":%s,\"time\":", names[stream]);
  n += logfile_time (out + n, OUT_MAX - n, ts);
  out[n++] = '}';
  out[n++] = '\n';
  flush_out (lf, n);
}

static void
emit_piece (struct logfile *lf, int stream, const char *data, size_t len, int complete)
{
  struct log_line *l = &lf->line[stream];
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  if (!l->partial)
    l->ts = now;
  emit (lf, stream, data, len, complete, &l->ts);
  l->partial = !complete;
}

void
logfile_feed (struct logfile *lf, int stream, const char *data, size_t len)
{
  struct log_line *l = &lf->line[stream];
  if (lf->path == NULL)
    return;
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t upto = nl ? (size_t) (nl - data) : len, take;
      if (l->n == 0 && nl != NULL && upto < LOG_LINE_MAX)
        {
          /* The common case: a whole line in the input, nothing buffered. */
          emit_piece (lf, stream, data, upto, 1);
          data += upto + 1, len -= upto + 1;
          continue;
        }
      take = upto < LOG_LINE_MAX - l->n ? upto : LOG_LINE_MAX - l->n;
      memcpy (l->buf + l->n, data, take);
      l->n += take;
      data += take, len -= take;
      if (l->n == LOG_LINE_MAX)
        {
          /* A full buffer is a partial piece even when the newline comes next: Docker then
             writes that newline as an entry of its own ({"log":"\n",...}). */
          emit_piece (lf, stream, l->buf, l->n, 0);
          l->n = 0;
        }
      else if (nl != NULL && take == upto)
        {
          emit_piece (lf, stream, l->buf, l->n, 1);
          l->n = 0;
          data++, len--;
        }
    }
}

void
logfile_eof (struct logfile *lf, int stream)
{
  struct log_line *l = &lf->line[stream];
  if (l->n > 0)
    emit_piece (lf, stream, l->buf, l->n, 0);
  l->n = 0;
  l->partial = 0;
}
