/* Test helper: prints the xattrs of a path (not following a final symlink) as
 * name=<hex value> lines. No getfattr on the build machine. */
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

int
main (int argc, char **argv)
{
  char names[65536], value[65536];
  ssize_t n, i, vl, k;

  if (argc != 2)
    return 64;
  n = llistxattr (argv[1], names, sizeof (names));
  if (n < 0)
    {
      perror ("llistxattr");
      return 1;
    }
  for (i = 0; i < n; i += (ssize_t) strlen (names + i) + 1)
    {
      vl = lgetxattr (argv[1], names + i, value, sizeof (value));
      if (vl < 0)
        continue;
      printf ("%s=", names + i);
      for (k = 0; k < vl; k++)
        printf ("%02x", (unsigned char) value[k]);
      printf ("\n");
    }
  return 0;
}
