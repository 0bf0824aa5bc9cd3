/** Seccomp for containers: the OCI `linux.seccomp` schema, its reading for berth-seccomp, Docker's profiles. */
export { OciSeccompSchema } from './schema';
export type { OciSeccomp, OciSyscall, OciSeccompArg } from './schema';
export { toSeccompRequest, SECCOMP_ARCHES, SECCOMP_ACTIONS } from './to-request';
export { defaultSeccompProfile } from './default-profile';
export { DOCKER_DEFAULT_PROFILE } from './docker-default';
export { dockerToOci, parseSeccompProfile, hostDockerArch, DockerSeccompSchema } from './docker-format';
export type { DockerSeccompProfile, SeccompHost } from './docker-format';
