/* berth-seccomp: compiles one seccomp profile into a classic BPF program with libseccomp, which
 * it loads at run time with dlopen("libseccomp.so.2") (every Debian with systemd or runc has it;
 * the build needs no libseccomp headers). berthd runs it once per distinct profile and caches the
 * program; berth-helper's container child loads that program with one seccomp(2) call, so no
 * container start pays for libseccomp (~6 ms for Docker's profile) and no monitor maps it.
 *
 * Rules are added as runc adds them (libcontainer/seccomp): a rule whose action is the default
 * action is left out, a name libseccomp does not know is skipped (and reported), and a rule with
 * two conditions on the same argument becomes one rule per condition. Format in ../helper/PROTOCOL.md. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_INPUT (1u << 20)
#define MAX_ARGS 6
#define NR_SCMP_ERROR (-1)
#define FLTATR_CTL_NNP 3
#define FLTATR_CTL_OPTIMIZE 8
/* runc asks for libseccomp's binary-tree layout above this many rules (one jump per ~4 syscalls). */
#define OPTIMIZE_ABOVE 32
/* Exit codes berthd tells apart (src/tasks/helper/seccomp-compiler.ts). */
enum { EXIT_REFUSED = 1, EXIT_BAD_INPUT = 2, EXIT_NO_LIBSECCOMP = 3 };

struct arg_cmp /* libseccomp's struct scmp_arg_cmp */
{
  unsigned int arg;
  int op;
  uint64_t datum_a, datum_b;
};

static struct
{
  void *(*init) (uint32_t);
  int (*arch_add) (void *, uint32_t);
  uint32_t (*arch_native) (void);
  uint32_t (*arch_resolve_name) (const char *);
  int (*attr_set) (void *, int, uint32_t);
  int (*resolve_name) (const char *);
  int (*resolve_name_arch) (uint32_t, const char *);
  int (*rule_add_array) (void *, uint32_t, int, unsigned int, const struct arg_cmp *);
  int (*export_bpf) (void *, int);
} sc;

static void __attribute__ ((noreturn, format (printf, 2, 3))) die (int code, const char *fmt, ...)
{
  va_list ap;
  fputs ("berth-seccomp: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (code);
}

static void
load_libseccomp (void)
{
  void *h = dlopen ("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    die (EXIT_NO_LIBSECCOMP, "cannot load libseccomp, which seccomp profiles need (install libseccomp2): %s", dlerror ());
#define SYM(field, name)                                                                                     \
  if ((*(void **) &sc.field = dlsym (h, name)) == NULL)                                                     \
    die (EXIT_NO_LIBSECCOMP, "libseccomp.so.2 has no %s (need libseccomp >= 2.4)", name);
  SYM (init, "seccomp_init");
  SYM (arch_add, "seccomp_arch_add");
  SYM (arch_native, "seccomp_arch_native");
  SYM (arch_resolve_name, "seccomp_arch_resolve_name");
  SYM (attr_set, "seccomp_attr_set");
  SYM (resolve_name, "seccomp_syscall_resolve_name");
  SYM (resolve_name_arch, "seccomp_syscall_resolve_name_arch");
  SYM (rule_add_array, "seccomp_rule_add_array");
  SYM (export_bpf, "seccomp_export_bpf");
#undef SYM
}

struct rule
{
  char *name;
  uint32_t action;
  unsigned n_args;
  struct arg_cmp args[MAX_ARGS];
};

static char *
read_all (size_t *len)
{
  char *buf = malloc (MAX_INPUT + 1);
  size_t n = 0;
  ssize_t r;
  if (buf == NULL)
    die (EXIT_BAD_INPUT, "out of memory");
  while ((r = read (0, buf + n, MAX_INPUT - n)) != 0)
    {
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        die (EXIT_BAD_INPUT, "read: %s", strerror (errno));
      if ((n += (size_t) r) == MAX_INPUT)
        die (EXIT_BAD_INPUT, "profile larger than %u bytes", MAX_INPUT);
    }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static uint64_t
number (char **s, int lineno)
{
  char *end;
  uint64_t v;
  errno = 0;
  v = strtoull (*s, &end, 10);
  if (errno != 0 || end == *s || **s == '-')
    die (EXIT_BAD_INPUT, "line %d: bad number", lineno);
  *s = end;
  return v;
}

static int
valid_name (const char *s)
{
  return *s != '\0' && strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen (s);
}

/* `rule NAME ACTION [INDEX,OP,A,B]...` */
static void
parse_rule (char *rest, struct rule *r, int lineno)
{
  char *save = NULL, *tok = strtok_r (rest, " ", &save), *p;
  if (tok == NULL || !valid_name (tok))
    die (EXIT_BAD_INPUT, "line %d: bad syscall name", lineno);
  r->name = tok;
  if ((p = strtok_r (NULL, " ", &save)) == NULL)
    die (EXIT_BAD_INPUT, "line %d: rule without action", lineno);
  r->action = (uint32_t) number (&p, lineno);
  while ((tok = strtok_r (NULL, " ", &save)) != NULL)
    {
      struct arg_cmp *c = &r->args[r->n_args];
      if (r->n_args == MAX_ARGS)
        die (EXIT_BAD_INPUT, "line %d: more than %d conditions", lineno, MAX_ARGS);
      c->arg = (unsigned) number (&tok, lineno);
      if (*tok++ != ',')
        die (EXIT_BAD_INPUT, "line %d: bad condition", lineno);
      c->op = (int) number (&tok, lineno);
      if (*tok++ != ',')
        die (EXIT_BAD_INPUT, "line %d: bad condition", lineno);
      c->datum_a = number (&tok, lineno);
      if (*tok++ != ',')
        die (EXIT_BAD_INPUT, "line %d: bad condition", lineno);
      c->datum_b = number (&tok, lineno);
      if (*tok != '\0' || c->arg >= MAX_ARGS || c->op < 1 || c->op > 7)
        die (EXIT_BAD_INPUT, "line %d: bad condition", lineno);
      r->n_args++;
    }
}

static void
add_rule (void *ctx, const struct rule *r, uint32_t default_action)
{
  int nr, rc = 0, same_arg = 0;
  unsigned counts[MAX_ARGS] = { 0 };
  if (r->action == default_action)
    return;
  if ((nr = sc.resolve_name (r->name)) == NR_SCMP_ERROR)
    {
      printf ("skip %s\n", r->name);
      return;
    }
  for (unsigned i = 0; i < r->n_args; i++)
    same_arg |= ++counts[r->args[i].arg] > 1;
  if (same_arg)
    for (unsigned i = 0; i < r->n_args && rc == 0; i++)
      rc = sc.rule_add_array (ctx, r->action, nr, 1, &r->args[i]);
  else
    rc = sc.rule_add_array (ctx, r->action, nr, r->n_args, r->args);
  if (rc < 0)
    die (EXIT_REFUSED, "rule for syscall %s: %s", r->name, strerror (-rc));
}

/* The largest number any rule's name has on this architecture: what berthd's ENOSYS stub needs. */
static long
largest (uint32_t arch, const struct rule *rules, size_t n)
{
  long max = 0;
  for (size_t i = 0; i < n; i++)
    {
      int nr = sc.resolve_name_arch (arch, rules[i].name);
      if (nr > max)
        max = nr;
    }
  return max;
}

static void
export_hex (void *ctx)
{
  int fd = memfd_create ("bpf", MFD_CLOEXEC), rc;
  unsigned char buf[4096];
  ssize_t n;
  if (fd < 0)
    die (EXIT_BAD_INPUT, "memfd_create: %s", strerror (errno));
  if ((rc = sc.export_bpf (ctx, fd)) < 0)
    die (EXIT_REFUSED, "export: %s", strerror (-rc));
  if (lseek (fd, 0, SEEK_SET) < 0)
    die (EXIT_BAD_INPUT, "lseek: %s", strerror (errno));
  fputs ("bpf ", stdout);
  while ((n = read (fd, buf, sizeof (buf))) > 0)
    for (ssize_t i = 0; i < n; i++)
      printf ("%02x", buf[i]);
  putchar ('\n');
}

int
main (int argc, char **argv __attribute__ ((unused)))
{
  size_t len, n_rules = 0, n_arches = 0;
  char *input, *save = NULL, *line;
  struct rule *rules;
  uint32_t arches[32], default_action = 0;
  int have_default = 0, lineno = 0;
  void *ctx;

  if (argc > 1)
    {
      fprintf (stderr, "usage: berth-seccomp < profile (see native/helper/PROTOCOL.md)\n");
      return EXIT_BAD_INPUT;
    }
  input = read_all (&len);
  if ((rules = calloc (len / 8 + 1, sizeof (*rules))) == NULL)
    die (EXIT_BAD_INPUT, "out of memory");
  load_libseccomp ();
  arches[n_arches++] = sc.arch_native ();
  for (line = strtok_r (input, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      lineno++;
      if (strncmp (line, "default ", 8) == 0 && !have_default)
        {
          char *p = line + 8;
          default_action = (uint32_t) number (&p, lineno);
          have_default = 1;
        }
      else if (strncmp (line, "arch ", 5) == 0 && have_default && n_rules == 0)
        {
          uint32_t token = sc.arch_resolve_name (line + 5);
          if (token == 0)
            die (EXIT_REFUSED, "architecture %s: unknown to this libseccomp", line + 5);
          if (n_arches == sizeof (arches) / sizeof (arches[0]))
            die (EXIT_BAD_INPUT, "too many architectures");
          arches[n_arches++] = token;
        }
      else if (strncmp (line, "rule ", 5) == 0 && have_default)
        parse_rule (line + 5, &rules[n_rules++], lineno);
      else
        die (EXIT_BAD_INPUT, "line %d: unexpected `%.40s`", lineno, line);
    }
  if (!have_default)
    die (EXIT_BAD_INPUT, "no default action");

  if ((ctx = sc.init (default_action)) == NULL)
    die (EXIT_REFUSED, "default action %#x: refused by libseccomp (not supported by this kernel?)", default_action);
  for (size_t i = 1; i < n_arches; i++)
    {
      int rc = sc.arch_add (ctx, arches[i]);
      if (rc < 0 && rc != -EEXIST)
        die (EXIT_REFUSED, "architecture %#x: %s", arches[i], strerror (-rc));
    }
  (void) sc.attr_set (ctx, FLTATR_CTL_NNP, 0);
  if (n_rules > OPTIMIZE_ABOVE)
    (void) sc.attr_set (ctx, FLTATR_CTL_OPTIMIZE, 2); /* older libseccomp: the linear layout */
  for (size_t i = 0; i < n_rules; i++)
    add_rule (ctx, &rules[i], default_action);
  for (size_t i = 0; i < n_arches; i++)
    {
      int seen = 0;
      for (size_t j = 0; j < i; j++)
        seen |= arches[j] == arches[i];
      if (!seen)
        printf ("arch %u %ld\n", arches[i], largest (arches[i], rules, n_rules));
    }
  export_hex (ctx);
  return fflush (stdout) == 0 ? 0 : EXIT_BAD_INPUT;
}
