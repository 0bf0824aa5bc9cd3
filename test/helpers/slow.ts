/**
 * test/vm runs tests in a guest under software emulation, 20-50 times slower than here; it sets
 * BERTH_TEST_SLOWDOWN and the waits and timeouts of the tests it runs scale by it.
 */
export const SLOWDOWN = Math.max(1, Number(process.env.BERTH_TEST_SLOWDOWN) || 1);
export const slow = (ms: number): number => ms * SLOWDOWN;
