/** Public surface of the tasks slice. */
export { TaskManager, SUPPORTED_RUNTIMES, helperLauncher } from './task-manager';
export type { TaskManagerOptions, ContainerSource, MountSource } from './task-manager';
export { restoreTasks } from './restore';
export { stdioFor } from './stdio';
export { timestampOf } from './events';
export type { CreateTaskOptions, ExecOptions, Exit, PidInfo, ProcStatus, ProcessView, ResourceUpdate, TaskCapture, TaskIO, TaskMetric } from './types';
export type { AttachEvent, AttachSession, AttachStream, PendingAttach } from './helper';
