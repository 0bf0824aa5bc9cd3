/** OCI spec handling: the Docker-default spec generator and spec -> launch plan conversion. */
export { defaultSpec, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, DEFAULT_PATH_ENV } from './defaults';
export type { DefaultSpecOptions } from './defaults';
export { specToPlan, parseSpec, planFromSpec, execPlan, processToPlan } from './to-plan';
export type { SpecToPlanOptions, SpecToPlanResult, ExecPlanOptions } from './to-plan';
export { OciSpecSchema, OciProcessSchema } from './types';
export type { OciSpec, OciProcess, OciMount, OciResources } from './types';
export { CAPABILITIES, RLIMITS, capabilityNumber } from './caps';
export { defaultSeccompProfile, parseSeccompProfile, toSeccompRequest, OciSeccompSchema, DOCKER_DEFAULT_PROFILE } from './seccomp';
export type { OciSeccomp, DockerSeccompProfile, SeccompHost } from './seccomp';
