/**
 * berthd's own host-local store (src/net/cni/host-local.ts) and which config lists it attaches
 * without the plugins (native-bridge.ts). The store's files are host-local's; that the real
 * plugin and berthd share them is test/net/native-bridge.test.ts's (root, real plugins).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKind } from '../../src/core/errors';
import { networkConfList } from '../../src/engine/network/conflist';
import type { NetworkRecord } from '../../src/engine/network/types';
import { HostLocalStore, canonicalRange } from '../../src/net/cni/host-local';
import { macFor, nativeBridgeConf } from '../../src/net/cni/native-bridge';
import type { NetConfList } from '../../src/net/cni/types';

describe('host-local store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-hl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = (net = 'n1') => readdirSync(join(dir, net)).sort();
  const range = { subnet: '10.9.8.0/29', gateway: '10.9.8.1' };

  it("hands out addresses round-robin from after the last one given, skipping the gateway, in host-local's file format", async () => {
    const s = new HostLocalStore(dir);
    const a = await s.allocate('n1', 'c1', 'eth0', range);
    expect(a).toEqual({ ip: '10.9.8.2', prefixLen: 29, gateway: '10.9.8.1' });
    expect(readFileSync(join(dir, 'n1', '10.9.8.2'), 'utf8')).toBe('c1\r\neth0');
    expect(readFileSync(join(dir, 'n1', 'last_reserved_ip.0'), 'utf8')).toBe('10.9.8.2');
    expect((await s.allocate('n1', 'c2', 'eth0', range)).ip).toBe('10.9.8.3');
    await s.release('n1', 'c1', 'eth0');
    // Round-robin: .2 is free again but the next one after the last given comes first.
    expect((await s.allocate('n1', 'c3', 'eth0', range)).ip).toBe('10.9.8.4');
    expect(files()).toEqual(['10.9.8.3', '10.9.8.4', 'last_reserved_ip.0']);
  });

  it('wraps around to the start, and a full range is ResourceExhausted', async () => {
    const s = new HostLocalStore(dir);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await s.allocate('n1', `c${i}`, 'eth0', range)).ip);
    expect(got).toEqual(['10.9.8.2', '10.9.8.3', '10.9.8.4', '10.9.8.5', '10.9.8.6']);
    const full = await s.allocate('n1', 'c9', 'eth0', range).catch((e) => e);
    expect(errorKind(full)).toBe('ResourceExhausted');
    expect(full.message).toContain('no IP addresses available in range set: 10.9.8.1-10.9.8.6');
    await s.release('n1', 'c1', 'eth0');
    expect((await s.allocate('n1', 'c9', 'eth0', range)).ip).toBe('10.9.8.3');
  });

  it('a requested address: given when free; taken, the gateway or outside the range are clear errors', async () => {
    const s = new HostLocalStore(dir);
    expect((await s.allocate('n1', 'c1', 'eth0', range, '10.9.8.5')).ip).toBe('10.9.8.5');
    const taken = await s.allocate('n1', 'c2', 'eth0', range, '10.9.8.5').catch((e) => e);
    expect(errorKind(taken)).toBe('AlreadyExists');
    expect(taken.message).toContain('requested IP address 10.9.8.5 is not available');
    const gw = await s.allocate('n1', 'c2', 'eth0', range, '10.9.8.1').catch((e) => e);
    expect(errorKind(gw)).toBe('InvalidArgument');
    const outside = await s.allocate('n1', 'c2', 'eth0', range, '192.0.2.9').catch((e) => e);
    expect(errorKind(outside)).toBe('InvalidArgument');
    expect(outside.message).toContain('192.0.2.9');
    expect(files()).toEqual(['10.9.8.5', 'last_reserved_ip.0']);
  });

  it('a second address for the same container and interface is refused, as host-local refuses it', async () => {
    const s = new HostLocalStore(dir);
    await s.allocate('n1', 'c1', 'eth0', range);
    const dup = await s.allocate('n1', 'c1', 'eth0', range).catch((e) => e);
    expect(errorKind(dup)).toBe('AlreadyExists');
    expect(dup.message).toContain('duplicate allocation is not allowed');
    expect((await s.allocate('n1', 'c1', 'eth1', range)).ip).toBe('10.9.8.3');
  });

  it("release frees only the interface's address; a file of an older host-local (the id alone) is released too", async () => {
    const s = new HostLocalStore(dir);
    await s.allocate('n1', 'c1', 'eth0', range);
    await s.allocate('n1', 'c1', 'eth1', range);
    await s.release('n1', 'c1', 'eth1');
    expect(files()).toEqual(['10.9.8.2', 'last_reserved_ip.0']);
    writeFileSync(join(dir, 'n1', '10.9.8.6'), 'old1\n');
    await s.release('n1', 'old1', 'eth0');
    expect(files()).toEqual(['10.9.8.2', 'last_reserved_ip.0']);
    // Releasing what is not there is no error (DEL is idempotent), nor is a network never used.
    await s.release('n1', 'c9', 'eth0');
    await s.release('never', 'c9', 'eth0');
  });

  it("rangeStart and rangeEnd bound the addresses; host-local's defaults otherwise", () => {
    expect(canonicalRange({ subnet: '10.1.0.0/24' })).toMatchObject({ start: 0x0a010001, end: 0x0a0100fe, gateway: 0x0a010001 });
    expect(canonicalRange({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.100', rangeEnd: '10.1.0.110' })).toMatchObject({ start: 0x0a010064, end: 0x0a01006e });
    expect(() => canonicalRange({ subnet: '10.1.0.0/24', rangeStart: '10.2.0.1' })).toThrow(/not in 10.1.0.0\/24/);
  });
});

describe('which config lists berthd attaches without the plugins', () => {
  const rec: NetworkRecord = {
    version: 1,
    id: 'a'.repeat(64),
    name: 'net1',
    driver: 'bridge',
    created: '2026-12-07T00:00:00Z',
    subnet: '10.213.5.0/24',
    gateway: '10.213.5.1',
    bridge: 'btd-x1',
    ipMasquerade: true,
    internal: false,
    mtu: 0,
    labels: {},
    options: {},
    isDefault: false,
  };
  const own = (over: Partial<NetworkRecord> = {}) => networkConfList({ ...rec, ...over }, { ipamDir: '/var/lib/berth-test/ipam', adminChain: 'X-1' });
  const withBridge = (l: NetConfList, extra: Record<string, unknown>): NetConfList => ({ ...l, plugins: [{ ...l.plugins[0]!, ...extra }] });

  it("berthd's own list, in each of its forms (an ip range, internal, an MTU, a fixed address)", () => {
    expect(nativeBridgeConf(own(), undefined)).toEqual({
      network: 'net1',
      cniVersion: '1.0.0',
      bridge: 'btd-x1',
      isDefaultGateway: true,
      hairpin: true,
      dataDir: '/var/lib/berth-test/ipam',
      range: { subnet: '10.213.5.0/24', gateway: '10.213.5.1' },
    });
    expect(nativeBridgeConf(own({ ipRange: '10.213.5.128/25' }), undefined)?.range).toEqual({
      subnet: '10.213.5.0/24',
      gateway: '10.213.5.1',
      rangeStart: '10.213.5.128',
      rangeEnd: '10.213.5.254',
    });
    expect(nativeBridgeConf(own({ internal: true }), undefined)?.isDefaultGateway).toBe(false);
    expect(nativeBridgeConf(own({ mtu: 1400 }), undefined)?.mtu).toBe(1400);
    expect(
      nativeBridgeConf(own(), [
        ['IgnoreUnknown', '1'],
        ['IP', '10.213.5.9'],
      ]),
    ).toBeDefined();
  });

  it('an edited list goes to the plugins: another plugin, another field, masquerade, another IPAM, more ranges, another version, other args', () => {
    const l = own();
    const ipam = l.plugins[0]!.ipam as Record<string, unknown>;
    expect(nativeBridgeConf({ ...l, plugins: [...l.plugins, { type: 'bandwidth' }] }, undefined)).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { promiscMode: true }), undefined)).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { ipMasq: true }), undefined)).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { isGateway: false }), undefined)).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { ipam: { ...ipam, type: 'dhcp' } }), undefined)).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { ipam: { ...ipam, routes: [{ dst: '10.0.0.0/8' }] } }), undefined)).toBeUndefined();
    expect(
      nativeBridgeConf(withBridge(l, { ipam: { ...ipam, ranges: [[{ subnet: '10.213.5.0/24' }], [{ subnet: '10.213.6.0/24' }]] } }), undefined),
    ).toBeUndefined();
    expect(nativeBridgeConf(withBridge(l, { mtu: 'big' }), undefined)).toBeUndefined();
    expect(nativeBridgeConf({ ...l, cniVersion: '0.4.0' }, undefined)).toBeUndefined();
    expect(nativeBridgeConf(l, [['K8S_POD_NAME', 'x']])).toBeUndefined();
  });

  it("a container's MAC carries its address (Docker's 02:42 prefix)", () => {
    expect(macFor('10.213.5.9')).toBe('02:42:0a:d5:05:09');
    expect(macFor('172.17.0.2')).toBe('02:42:ac:11:00:02');
  });
});
