/**
 * The seccomp filter every engine container gets unless told otherwise: Docker's default profile
 * (docker-default.ts) resolved for the container's bounding capabilities and this host's
 * architecture and kernel, as dockerd does. With Docker's 14 default capabilities that refuses,
 * with EPERM, keyctl, add_key, unshare, mount, bpf, perf_event_open, userfaultfd, ptrace on
 * kernels before 4.8, and more; clone3 answers ENOSYS so that glibc falls back to clone, whose
 * namespace flags are refused. CAP_SYS_ADMIN opens mount, unshare, setns, clone3 and more.
 */
import { DOCKER_DEFAULT_PROFILE } from './docker-default';
import { DockerSeccompSchema, resolveDockerProfile, type ParsedDockerProfile, type SeccompHost } from './docker-format';
import type { OciSeccomp } from './schema';

/** Checked once: a constant, whose parse was ~0.7 ms of every engine create. */
let parsed: ParsedDockerProfile | undefined;

export function defaultSeccompProfile(bounding: readonly string[], host: SeccompHost = {}): OciSeccomp {
  return resolveDockerProfile((parsed ??= DockerSeccompSchema.parse(DOCKER_DEFAULT_PROFILE)), bounding, host)!;
}
