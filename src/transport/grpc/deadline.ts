/**
 * A call's deadline. grpc-timeout allows up to 99999999 hours, and grpc-go encodes long context
 * deadlines as such (2592000S for 30 days), but setTimeout fires at once above 2^31-1 ms (~24.8
 * days): longer deadlines are waited out in steps.
 */
const MAX_TIMER_MS = 0x7fffffff;

export class Deadline {
  private timer: NodeJS.Timeout | undefined;

  constructor(ms: number, onExpire: () => void) {
    const at = Date.now() + ms;
    const arm = (left: number) => {
      this.timer = setTimeout(
        () => {
          const rest = at - Date.now();
          if (rest > 0) arm(rest);
          else onExpire();
        },
        Math.min(left, MAX_TIMER_MS),
      );
      this.timer.unref();
    };
    arm(ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
