/** What a call that should fail did: [error kind (core/errors), message], or [undefined, ''] when it did not fail. */
import { errorKind } from '../../src/core/errors';

export async function failure(p: Promise<unknown>): Promise<[string | undefined, string]> {
  try {
    await p;
  } catch (e) {
    return [errorKind(e), (e as Error).message];
  }
  return [undefined, ''];
}

export function failureOf(fn: () => unknown): [string | undefined, string] {
  try {
    fn();
  } catch (e) {
    return [errorKind(e), (e as Error).message];
  }
  return [undefined, ''];
}
