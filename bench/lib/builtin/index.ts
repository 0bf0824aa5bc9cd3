/** Workloads owned by the harness itself; colleagues' workloads live in bench/<name>.workload.ts. */
import type { Workload } from '../workload';
import { cliImagesWorkload, cliLogsWorkload, cliPsWorkload, cliRunRmNoNetworkWorkload, cliRunRmWorkload, cliVersionWorkload } from './cli';
import { ctrVersionWorkload } from './ctr-version';
import { idleRssSettledWorkload, idleRssWorkload } from './idle-rss';
import { containersListLatencyWorkload, imagesListLatencyWorkload, versionLatencyWorkload } from './rpc-latency';
import { startupWorkload } from './startup';

export const BUILTIN_WORKLOADS: Workload[] = [
  startupWorkload,
  idleRssWorkload,
  idleRssSettledWorkload,
  versionLatencyWorkload,
  imagesListLatencyWorkload,
  containersListLatencyWorkload,
  ctrVersionWorkload,
  cliVersionWorkload,
  cliPsWorkload,
  cliImagesWorkload,
  cliRunRmWorkload,
  cliRunRmNoNetworkWorkload,
  cliLogsWorkload,
];
