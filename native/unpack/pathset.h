/* A set of cleaned paths: what this layer itself wrote (containerd's unpackedPaths), so an
 * opaque marker in plain mode keeps them and removes only older content. */
#ifndef BU_PATHSET_H
#define BU_PATHSET_H

#include <stddef.h>

struct pathset
{
  char **slots;
  size_t cap, len;
};

int pathset_add (struct pathset *s, const char *path); /* 0 or -1 (ENOMEM) */
int pathset_has (const struct pathset *s, const char *path);
void pathset_free (struct pathset *s);

#endif
