/* Device rules on cgroup v2, which has no devices.allow: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, generated here from the plan's rules and attached to the
 * container's cgroup with bpf(2). The kernel runs it on every open/mknod of a device node with
 * (type, access, major, minor) and permits the operation when it returns 1.
 *
 * Semantics are those of the v1 devices controller that the OCI rules were written for: the last
 * rule that matches decides; an allow rule matches when it grants every access asked for, a deny
 * rule when it forbids any of them; no matching rule allows (a new v1 cgroup inherits "a *:* rwm"
 * from the root). So the program tests the rules last to first and returns at the first match. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* eBPF encodings used here (linux/bpf_common.h and linux/bpf.h name the parts). */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN (BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV32_REG(dst, src) INSN (BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define AND32_IMM(dst, imm) INSN (BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH32_IMM(dst, imm) INSN (BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define MOV64_IMM(dst, imm) INSN (BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE32_IMM(dst, imm, off) INSN (BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JEQ32_IMM(dst, imm, off) INSN (BPF_JMP32 | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define EXIT_INSN() INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5 };

static int
access_bits (const char *access)
{
  int bits = 0;
  for (const char *c = access; *c; c++)
    bits |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : *c == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
  return bits;
}

/* Emits the test of one rule: jumps past its end unless it matches, then returns its verdict.
   Returns the number of conditional jumps (0: the rule matches everything). */
static size_t
emit_rule (const struct plan_dev_rule *r, struct bpf_insn *out, size_t *n)
{
  const int all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
  int acc = access_bits (r->access);
  size_t jumps[4], nj = 0;
  if (r->type != 'a')
    jumps[nj++] = *n, out[(*n)++] = JNE32_IMM (R2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
  if (r->allow && acc != all)
    {
      /* Asked-for access outside the rule's: not this rule. */
      out[(*n)++] = MOV32_REG (R1, R3);
      out[(*n)++] = AND32_IMM (R1, ~acc & all);
      jumps[nj++] = *n, out[(*n)++] = JNE32_IMM (R1, 0, 0);
    }
  else if (!r->allow && acc != all)
    {
      out[(*n)++] = MOV32_REG (R1, R3);
      out[(*n)++] = AND32_IMM (R1, acc);
      jumps[nj++] = *n, out[(*n)++] = JEQ32_IMM (R1, 0, 0);
    }
  if (r->major >= 0)
    jumps[nj++] = *n, out[(*n)++] = JNE32_IMM (R4, (int32_t) (uint32_t) r->major, 0);
  if (r->minor >= 0)
    jumps[nj++] = *n, out[(*n)++] = JNE32_IMM (R5, (int32_t) (uint32_t) r->minor, 0);
  out[(*n)++] = MOV64_IMM (R0, r->allow ? 1 : 0);
  out[(*n)++] = EXIT_INSN ();
  for (size_t j = 0; j < nj; j++)
    out[jumps[j]].off = (int16_t) (*n - jumps[j] - 1);
  return nj;
}

/* Longest rule: type test, 3 access insns, major, minor, verdict (2). */
#define MAX_RULE_INSNS 8

size_t
cgroup_devices_program (const struct plan *p, struct bpf_insn *out, size_t cap)
{
  size_t n = 0;
  if (cap < 8 + p->n_dev_rules * MAX_RULE_INSNS)
    return 0;
  /* R2 = device type, R3 = access asked for, R4 = major, R5 = minor (struct bpf_cgroup_dev_ctx). */
  out[n++] = LDX_W (R2, R1, 0);
  out[n++] = MOV32_REG (R3, R2);
  out[n++] = AND32_IMM (R2, 0xffff);
  out[n++] = RSH32_IMM (R3, 16);
  out[n++] = LDX_W (R4, R1, 4);
  out[n++] = LDX_W (R5, R1, 8);
  for (size_t i = p->n_dev_rules; i-- > 0;)
    if (emit_rule (&p->dev_rules[i], out, &n) == 0)
      return n; /* matches everything: earlier rules can never decide (and dead code fails the verifier) */
  out[n++] = MOV64_IMM (R0, 1);
  out[n++] = EXIT_INSN ();
  return n;
}

static long
sys_bpf (int cmd, union bpf_attr *attr)
{
  return syscall (SYS_bpf, cmd, attr, sizeof (*attr));
}

int
cgroup_devices_bpf (const char *dir, const struct plan *p, berth_error_t *err)
{
  static struct bpf_insn insns[8 + 256 * MAX_RULE_INSNS];
  union bpf_attr attr;
  size_t n;
  int prog, cgfd, saved;

  if (p->n_dev_rules == 0)
    return 0;
  if (p->n_dev_rules > 256)
    return berth_error (err, E2BIG, "cgroup: %zu device rules (at most 256)", p->n_dev_rules);
  n = cgroup_devices_program (p, insns, sizeof (insns) / sizeof (insns[0]));
  memset (&attr, 0, sizeof (attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) insns;
  attr.insn_cnt = (uint32_t) n;
  attr.license = (uint64_t) (uintptr_t) "Apache-2.0";
  if ((prog = (int) sys_bpf (BPF_PROG_LOAD, &attr)) < 0)
    {
      /* Load again with the verifier's log for the error (its last lines say why). */
      static char log[1 << 16];
      size_t len;
      saved = errno;
      attr.log_buf = (uint64_t) (uintptr_t) log;
      attr.log_size = sizeof (log);
      attr.log_level = 1;
      log[0] = '\0';
      if ((prog = (int) sys_bpf (BPF_PROG_LOAD, &attr)) >= 0)
        close (prog);
      len = strlen (log);
      return berth_error (err, saved, "cgroup: load the device rules' eBPF program (%zu insns): %s", n,
                          len > 300 ? log + len - 300 : log);
    }
  if ((cgfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      saved = errno;
      close (prog);
      return berth_error (err, saved, "cgroup: open %s", dir);
    }
  memset (&attr, 0, sizeof (attr));
  attr.target_fd = (uint32_t) cgfd;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* Programs of the parents (systemd's DevicePolicy, say) keep running too: all must allow. */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  saved = sys_bpf (BPF_PROG_ATTACH, &attr) < 0 ? errno : 0;
  close (cgfd);
  close (prog); /* the attachment holds the program until the cgroup goes */
  return saved ? berth_error (err, saved, "cgroup: attach the device rules' eBPF program to %s", dir) : 0;
}
