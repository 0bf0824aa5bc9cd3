/**
 * berthd starts with 4 × V8's interrupt budget (node-flags.ts) so that start-up, which runs most
 * of its code once, makes V8 optimize nothing: TurboFan's code stays out of an idle daemon's
 * memory. Once it serves, V8's own budget applies again (V8 reads the flag each time it resets a
 * function's budget), so ingests and container runs tier up as they did. The code cache is not
 * affected: V8 checks the flags it was made with when the bundle is compiled, before this runs.
 */
import { setFlagsFromString } from 'node:v8';
import { V8_INTERRUPT_BUDGET } from './node-flags';

export function restoreInterruptBudget(): void {
  setFlagsFromString(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
}
