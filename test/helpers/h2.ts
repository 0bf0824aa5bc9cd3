/** A method definition that passes Buffers through both ways, for tests of the transport alone. */
export const rawMethod = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => Buffer.from(b),
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
});
