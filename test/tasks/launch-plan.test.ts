/** Plans validated ahead of Tasks/Create (TaskManager.warmSpec) and completed with the call's own parts. */
import { validatePlan, withLaunchParts, type LaunchPlanInput } from '../../src/tasks/helper';

const base: LaunchPlanInput = { id: 'c1', stateDir: '/run/berth/c1', rootfs: '/run/berth/c1/rootfs', args: ['true'], cgroupPath: 'berth/default/c1' };

describe('withLaunchParts', () => {
  it('fills in rootfs mounts and stdio, validated as LaunchPlanSchema validates them', () => {
    const plan = validatePlan(base);
    const mounts = [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a'] }];
    const out = withLaunchParts(plan, { rootfsMounts: mounts, stdio: { stdout: { kind: 'fifo', path: '/run/fifo/out' } } });
    expect(out.rootfsMounts).toEqual(mounts);
    expect(out.stdio).toEqual({ stdin: { kind: 'null' }, stdout: { kind: 'fifo', path: '/run/fifo/out' }, stderr: { kind: 'null' } });
    expect(out.args).toEqual(['true']);
    // The validated plan itself is left as it was.
    expect(plan.rootfsMounts).toEqual([]);
  });

  it('rejects what the full schema rejects, and plans that were never validated', () => {
    const plan = validatePlan(base);
    expect(() => withLaunchParts(plan, { rootfsMounts: [], stdio: { stdout: { kind: 'fifo', path: 'relative' } } })).toThrow(/absolute/);
    expect(() => withLaunchParts(plan, { rootfsMounts: [{ type: '', source: 'x' }], stdio: {} })).toThrow();
    expect(() => withLaunchParts(plan, { rootfsMounts: [], stdio: { stdout: { kind: 'file', path: '/a\0b' } } })).toThrow();
    expect(() => withLaunchParts({ ...plan }, { rootfsMounts: [], stdio: {} })).toThrow(/not validated/);
  });
});
