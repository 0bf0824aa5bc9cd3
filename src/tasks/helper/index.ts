/** Public surface of the native helper wrapper (launch + monitor client). */
export { createProcess, SyncMessageSchema } from './client';
export type { CreatedProcess, HelperOptions, SyncMessage } from './client';
export { MonitorClient, connectMonitor, ExitStatusSchema } from './monitor-client';
export type { CgroupStats, ExitStatus, ProcessState, ProcessStatus, RequestOptions } from './monitor-client';
export { CaptureSchema, LaunchPlanSchema, encodePlan, NAMESPACE_TYPES, PLAN_MAGIC, validatePlan, withLaunchParts } from './plan';
export type { Capture, LaunchPlan, LaunchPlanInput, Stdio } from './plan';
export { errnoToError, errnoName } from './errno';
export { helperPath, MONITOR_SOCKET, EXIT_FILE } from './paths';
export { removeStateDir } from './state-dir';
export { openAttach } from './attach-client';
export type { AttachEvent, AttachSession, AttachStream, PendingAttach } from './attach-client';
