export type { BindSpec, CopyUpResult, ExtractOptions, PathStat, RootfsOps, RootfsSource } from './types';
export { RootfsTool, defaultRootfsBin, sourceArgs } from './tool';
