/** Workloads owned by the harness itself; colleagues' workloads live in bench/<name>.ts. */
import type { Workload } from '../workload';
import { ctrVersionWorkload } from './ctr-version';
import { idleRssWorkload } from './idle-rss';
import { startupWorkload } from './startup';
import { versionLatencyWorkload } from './version-latency';

export const BUILTIN_WORKLOADS: Workload[] = [startupWorkload, idleRssWorkload, versionLatencyWorkload, ctrVersionWorkload];
