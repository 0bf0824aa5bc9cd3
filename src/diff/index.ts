export { LayerApplier, MEDIA_TYPE_LAYER_TAR, digestVerifier, type Applied, type ApplierOptions } from './apply';
export { targetForMounts } from './mounts';
export { unpackTar, defaultUnpackBin, unpackArgs, type UnpackTarget, type UnpackResult, type UnpackOptions, type BlobFile } from './unpack';
export { LayerStager, type CommitSource, type IngestSource, type StagerOptions } from './staging';
export { stagingObserver } from './staging-observer';
export { LayerDiffer, diffSource, LABEL_UNCOMPRESSED, MEDIA_TYPE_LAYER_GZIP, type CompareOptions, type ComputedDiff, type DiffSource } from './compute';
