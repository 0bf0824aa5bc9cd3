/**
 * Docker's mount flags (-v, --mount, --tmpfs, --volumes-from) parsed with Docker's rules and
 * messages, and the mounts a container gets from them and from its image's VOLUMEs, in Docker's
 * order, as OCI mounts.
 */
import { failureOf } from '../helpers/errors';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom, splitCsv } from '../../src/engine/mounts/parse';
import { bindSourcesToCreate, checkBindSources, ociMounts, planMounts } from '../../src/engine/mounts/plan';

describe('-v', () => {
  it.each([
    ['/data', { type: 'volume', source: '', target: '/data', readOnly: false, copyData: true }],
    ['vol:/data', { type: 'volume', source: 'vol', target: '/data', readOnly: false, copyData: true }],
    ['vol:/data:ro,nocopy', { type: 'volume', source: 'vol', target: '/data', readOnly: true, copyData: false }],
    ['/host:/ctr', { type: 'bind', source: '/host', target: '/ctr', readOnly: false, copyData: false, propagation: 'rprivate' }],
    ['/host:/ctr/:ro,rshared,Z', { type: 'bind', source: '/host', target: '/ctr', readOnly: true, propagation: 'rshared' }],
  ])('%s', (raw, want) => {
    expect(parseVolumeFlag(raw)).toMatchObject({ ...want, origin: 'bind-flag' });
  });

  it.each([
    ['', "invalid volume specification: ''"],
    [':/data', "invalid volume specification: ':/data'"],
    ['/data:rw', "invalid volume specification: '/data:rw'"],
    ['a:b:c:d', "invalid volume specification: 'a:b:c:d'"],
    ['vol:/data:rw,ro', 'invalid mode: rw,ro'],
    ['vol:/data:bogus', 'invalid mode: bogus'],
    ['vol:data', `invalid volume specification: 'vol:data': invalid mount config for type "volume": invalid mount path: 'data' mount path must be absolute`],
    ['vol:/', "invalid volume specification: 'vol:/': invalid specification: destination can't be '/'"],
    ['vol:/x:shared', `invalid volume specification: 'vol:/x:shared': invalid mount config for type "volume": field BindOptions must not be specified`],
  ])('%j is refused', (raw, msg) => {
    expect(failureOf(() => parseVolumeFlag(raw))).toEqual(['InvalidArgument', msg]);
  });
});

describe('--mount', () => {
  it('volume by default, with its options; quoted CSV fields', () => {
    expect(parseMountFlag('src=vol,dst=/data,volume-label=a=b,"volume-opt=o=x,y",volume-nocopy')).toMatchObject({
      type: 'volume',
      source: 'vol',
      target: '/data',
      copyData: false,
      volumeLabels: { a: 'b' },
      volumeOptions: { o: 'x,y' },
      origin: 'mount-flag',
    });
    expect(splitCsv('a,"b,""c""",d')).toEqual(['a', 'b,"c"', 'd']);
  });

  it('bind and tmpfs', () => {
    expect(parseMountFlag('type=bind,source=/h,target=/c,readonly,bind-propagation=rslave')).toMatchObject({
      type: 'bind',
      readOnly: true,
      propagation: 'rslave',
    });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770')).toMatchObject({ type: 'tmpfs', tmpfsSize: '64m', tmpfsMode: 0o1770 });
  });

  it.each([
    ['type=volume', 'target is required'],
    ['target=/x,readonly=maybe', 'invalid value for readonly: maybe'],
    ['target=/x,color=red', "unexpected key 'color' in 'color=red'"],
    ['target', "invalid field 'target' must be a key=value pair"],
    ['type=bind,src=/h,dst=/c,volume-nocopy', "cannot mix 'volume-*' options with mount type 'bind'"],
    ['type=tmpfs,dst=/c,bind-propagation=shared', "cannot mix 'bind-*' options with mount type 'tmpfs'"],
    ['type=bind,src=rel,dst=/c', `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    ['type=tmpfs,src=x,dst=/c', `invalid mount config for type "tmpfs": field Source must not be specified`],
    ['type=volume,dst=/c,ro', `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`],
    ['type=nfs,dst=/c', 'mount type unknown: "nfs"'],
  ])('%j is refused', (raw, msg) => {
    expect(failureOf(() => parseMountFlag(raw))).toEqual(['InvalidArgument', msg]);
  });

  it('a missing bind source is refused for --mount (the daemon’s error) and created for -v', () => {
    const specs = [parseMountFlag('type=bind,src=/nope,dst=/a'), parseVolumeFlag('/made:/b')];
    expect(failureOf(() => checkBindSources(specs, () => false))).toEqual([
      'InvalidArgument',
      'invalid mount config for type "bind": bind source path does not exist: /nope',
    ]);
    expect(bindSourcesToCreate(specs)).toEqual(['/made']);
  });
});

describe('--tmpfs and --volumes-from', () => {
  it('parse', () => {
    expect(parseTmpfsFlag('/run:rw,size=65536k,exec,mode=755')).toMatchObject({
      type: 'tmpfs',
      target: '/run',
      tmpfsSize: '65536k',
      tmpfsMode: 0o755,
      tmpfsOptions: ['exec'],
    });
    expect(parseVolumesFrom('web:ro')).toEqual({ container: 'web', mode: 'ro' });
    expect(parseVolumesFrom('web')).toEqual({ container: 'web' });
    expect(failureOf(() => parseVolumesFrom('web:rx'))[0]).toBe('InvalidArgument');
  });
});

describe('planning', () => {
  it('volumes-from, then -v and --mount override by target; image VOLUMEs fill the rest as anonymous volumes', () => {
    const from = [parseVolumeFlag('shared:/shared'), parseVolumeFlag('/host:/logs')].map((m) => ({ ...m }));
    const plan = planMounts({
      volumesFrom: [{ mode: 'ro', mounts: from }],
      binds: [parseVolumeFlag('mine:/logs')],
      mounts: [parseMountFlag('type=tmpfs,dst=/tmp')],
      imageVolumes: ['/var/lib/db', '/shared', '/tmp/'],
    });
    expect(plan.map((m) => [m.target, m.type, m.source, m.readOnly, m.origin])).toEqual([
      ['/shared', 'volume', 'shared', true, 'volumes-from'],
      ['/logs', 'volume', 'mine', false, 'bind-flag'],
      ['/tmp', 'tmpfs', '', false, 'mount-flag'],
      ['/var/lib/db', 'volume', '', false, 'image'],
    ]);
    expect(plan.find((m) => m.target === '/var/lib/db')!.copyData).toBe(true);
    expect(plan.find((m) => m.target === '/shared')!.copyData).toBe(false);
  });

  it('a target given twice is Docker’s duplicate mount point', () => {
    expect(failureOf(() => planMounts({ binds: [parseVolumeFlag('a:/x')], mounts: [parseMountFlag('src=b,dst=/x/')] }))).toEqual([
      'InvalidArgument',
      'Duplicate mount point: /x',
    ]);
    expect(failureOf(() => planMounts({ mounts: [parseMountFlag('src=b,dst=/x,volume-subpath=sub')] }))[0]).toBe('NotImplemented');
  });

  it('OCI mounts: parents first; volumes bind their directory; tmpfs with Docker’s defaults merged', () => {
    const specs = planMounts({
      binds: [parseVolumeFlag('db:/data/db:ro'), parseVolumeFlag('/host/x:/data')],
      tmpfs: [parseTmpfsFlag('/run:exec,size=1m')],
    });
    const m = ociMounts(
      specs,
      (v) => `/vols/${v}/_data`,
      (s) => (s === '1m' ? 1048576 : NaN),
    );
    expect(m).toEqual([
      { destination: '/data', type: 'bind', source: '/host/x', options: ['rbind', 'rw', 'rprivate'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rprivate', 'exec', 'size=1048576'] },
      { destination: '/data/db', type: 'bind', source: '/vols/db/_data', options: ['rbind', 'ro', 'rprivate'] },
    ]);
    expect(failureOf(() => ociMounts(planMounts({ imageVolumes: ['/v'] }), (v) => v, Number))[0]).toBe('InvalidArgument');
  });
});
