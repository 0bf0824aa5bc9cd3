export type {
  Archive,
  ArchiveOptions,
  BindSpec,
  Change,
  ChangesSource,
  CopyUpResult,
  ExtractOptions,
  PathStat,
  RootfsOps,
  RootfsSource,
  VolumeMounter,
} from './types';
export { parseMountOptions } from './mount-options';
export { RootfsTool, compressionOf, defaultRootfsBin, readOnlyView, sourceArgs } from './tool';
