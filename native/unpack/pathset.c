#include "pathset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
hash (const char *s)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */

  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return h;
}

static size_t
find (char **slots, size_t cap, const char *path)
{
  size_t i = (size_t) hash (path) & (cap - 1);

  while (slots[i] != NULL && strcmp (slots[i], path) != 0)
    i = (i + 1) & (cap - 1);
  return i;
}

static int
grow (struct pathset *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 1024, i;
  char **n = calloc (ncap, sizeof (char *));

  if (n == NULL)
    return -1;
  for (i = 0; i < s->cap; i++)
    if (s->slots[i])
      n[find (n, ncap, s->slots[i])] = s->slots[i];
  free (s->slots);
  s->slots = n;
  s->cap = ncap;
  return 0;
}

int
pathset_add (struct pathset *s, const char *path)
{
  size_t i;

  if ((s->len + 1) * 2 > s->cap && grow (s) < 0)
    return -1;
  i = find (s->slots, s->cap, path);
  if (s->slots[i])
    return 0;
  s->slots[i] = strdup (path);
  if (s->slots[i] == NULL)
    return -1;
  s->len++;
  return 0;
}

int
pathset_has (const struct pathset *s, const char *path)
{
  if (s->cap == 0)
    return 0;
  return s->slots[find (s->slots, s->cap, path)] != NULL;
}

void
pathset_free (struct pathset *s)
{
  size_t i;

  for (i = 0; i < s->cap; i++)
    free (s->slots[i]);
  free (s->slots);
  memset (s, 0, sizeof (*s));
}
