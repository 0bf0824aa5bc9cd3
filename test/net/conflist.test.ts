/** The pure parts of net/: conflist checks, plugin error mapping, iptables rule splitting, IPv4 math, published ports' rules; an attachment's list. */
import { errorKind } from '../../src/core/errors';
import { parseConfList, parseConfListText, versionAtLeast } from '../../src/net/cni/conflist';
import { parsePluginError, pluginFailure } from '../../src/net/cni/errors';
import { containerAddresses, resultAddresses } from '../../src/net/cni/result';
import { attachList } from '../../src/engine/network/conflist';
import { Iptables, splitRule } from '../../src/net/iptables';
import { PublishedPorts } from '../../src/net/published';
import { contains, formatCidr, formatIp, lastAddress, overlaps, parseCidr, parseIp } from '../../src/net/ipv4';

describe('conflists', () => {
  const ok = {
    cniVersion: '1.0.0',
    name: 'net1',
    plugins: [
      { type: 'bridge', bridge: 'b0' },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };

  it('accepts a list and keeps every plugin field', () => {
    expect(parseConfList(ok, 'x').plugins[0]).toEqual({ type: 'bridge', bridge: 'b0' });
  });

  it.each([
    ['a name with a slash', { ...ok, name: 'a/b' }, 'invalid network name'],
    ['an unknown version', { ...ok, cniVersion: '2.0.0' }, 'cniVersion "2.0.0"'],
    ['no plugins', { ...ok, plugins: [] }, 'no plugins'],
    ['a plugin type that is a path', { ...ok, plugins: [{ type: '../../bin/sh' }] }, 'is not a plugin name'],
    ['capabilities that are not booleans', { ...ok, plugins: [{ type: 'portmap', capabilities: { portMappings: 'yes' } }] }, 'capabilities'],
  ])('refuses %s', (_, v, msg) => {
    let e: Error | undefined;
    try {
      parseConfList(v, 'test.conflist');
    } catch (x) {
      e = x as Error;
    }
    expect(errorKind(e)).toBe('InvalidArgument');
    expect(e!.message).toContain('CNI config test.conflist');
    expect(e!.message).toContain(msg);
  });

  it('says where JSON is broken', () => {
    expect(() => parseConfListText('{', 'f.conflist')).toThrow(/CNI config f.conflist: not JSON/);
  });

  it('compares versions', () => {
    expect(versionAtLeast('1.0.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
  });
});

describe('plugin errors', () => {
  const run = (stdout: string, code = 1) => ({ code, signal: null, stdout, stderr: 'some stderr' });
  it('reads the spec error object and picks the kind from its code and text', () => {
    expect(parsePluginError('{"cniVersion":"1.0.0","code":7,"msg":"bad","details":"why"}')).toEqual({ code: 7, msg: 'bad', details: 'why' });
    const e = pluginFailure('n', 'bridge', 'ADD', run('{"code":11,"msg":"busy"}'));
    expect([errorKind(e), e.message]).toEqual(['Unavailable', 'network n: CNI plugin bridge ADD failed: busy']);
    expect(
      errorKind(
        pluginFailure(
          'n',
          'bridge',
          'ADD',
          run('{"code":999,"msg":"failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6"}'),
        ),
      ),
    ).toBe('ResourceExhausted');
  });
  it('falls back to the exit status and stderr when there is no error object', () => {
    const e = pluginFailure('n', 'x', 'DEL', run('garbage', 2));
    expect([errorKind(e), e.message]).toEqual(['Internal', 'network n: CNI plugin x DEL failed: exit 2: some stderr']);
  });
});

describe('results', () => {
  it('flattens 0.4.0 and 1.0.0 results and keeps the container side', () => {
    const r = {
      cniVersion: '0.4.0',
      interfaces: [
        { name: 'br0', mac: 'aa' },
        { name: 'veth1', mac: 'bb' },
        { name: 'eth0', mac: 'cc', sandbox: '/ns' },
      ],
      ips: [{ version: '4', interface: 2, address: '10.0.0.5/24', gateway: '10.0.0.1' }, { address: 'junk' }],
    };
    expect(resultAddresses(r)).toEqual([{ ip: '10.0.0.5', prefixLen: 24, gateway: '10.0.0.1', family: 4, ifName: 'eth0', mac: 'cc', sandbox: '/ns' }]);
    expect(containerAddresses({ ips: [{ address: '10.0.0.6/16' }] })).toEqual([
      { ip: '10.0.0.6', prefixLen: 16, gateway: undefined, family: 4, ifName: undefined, mac: undefined, sandbox: undefined },
    ]);
  });
});

describe('iptables -S lines', () => {
  it('splits quoted comments with escaped quotes', () => {
    expect(splitRule('-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"n1\\" id: \\"c 1\\"" -j CNI-abc')).toEqual([
      '-A',
      'POSTROUTING',
      '-s',
      '10.0.0.2/32',
      '-m',
      'comment',
      '--comment',
      'name: "n1" id: "c 1"',
      '-j',
      'CNI-abc',
    ]);
    expect(splitRule('-A X --comment ""')).toEqual(['-A', 'X', '--comment', '']);
  });
});

describe('IPv4', () => {
  it('parses addresses strictly', () => {
    expect(parseIp('10.0.0.1')).toBe(0x0a000001);
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', 'a.b.c.d', '1.2.3.4 ']) expect(parseIp(bad)).toBeUndefined();
    expect(formatIp(0xc0a80101)).toBe('192.168.1.1');
  });
  it('parses subnets, refusing host bits unless asked', () => {
    expect(formatCidr(parseCidr('10.1.2.0/24'))).toBe('10.1.2.0/24');
    expect(() => parseCidr('10.1.2.3/24')).toThrow(/host bits set \(did you mean 10.1.2.0\/24\?\)/);
    expect(formatCidr(parseCidr('10.1.2.3/24', 'route', false))).toBe('10.1.2.0/24');
    expect(() => parseCidr('10.1.2.0/33')).toThrow(/not an IPv4 CIDR/);
  });
  it('overlap, membership and the last address', () => {
    const a = parseCidr('10.1.0.0/16');
    expect(overlaps(a, parseCidr('10.1.5.0/24'))).toBe(true);
    expect(overlaps(a, parseCidr('10.2.0.0/24'))).toBe(false);
    expect(overlaps(parseCidr('0.0.0.0/0'), a)).toBe(true);
    expect(contains(a, parseIp('10.1.255.255')!)).toBe(true);
    expect(formatIp(lastAddress(parseCidr('10.1.2.0/29')))).toBe('10.1.2.7');
  });
});

describe('published ports', () => {
  it("one DNAT rule per mapping, named by bridge and container; 0.0.0.0 matches any local address; -S's quoting splits back", () => {
    const p = new PublishedPorts(new Iptables(), 'X-P', 'X-F');
    const pub = {
      bridge: 'br0',
      containerId: 'abc',
      ip: '10.1.0.2',
      mappings: [
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'tcp' as const },
        { hostIp: '0.0.0.0', hostPort: 5353, containerPort: 53, proto: 'udp' as const },
        { hostIp: '0.0.0.0', hostPort: 8081, containerPort: 80, proto: 'tcp' as const },
      ],
    };
    const rules = p.rules(pub);
    expect(rules).toEqual([
      '-d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment "berth port br0 abc" -j DNAT --to-destination 10.1.0.2:80',
      '-p udp -m udp --dport 5353 -m comment --comment "berth port br0 abc" -j DNAT --to-destination 10.1.0.2:53',
      '-p tcp -m tcp --dport 8081 -m comment --comment "berth port br0 abc" -j DNAT --to-destination 10.1.0.2:80',
    ]);
    expect(splitRule(rules[0]!)).toContain('berth port br0 abc');
    // FORWARD accepts (a host whose FORWARD policy is DROP): one per container port, from other interfaces only.
    expect(p.accepts(pub)).toEqual([
      '-d 10.1.0.2/32 ! -i br0 -o br0 -p tcp -m tcp --dport 80 -m comment --comment "berth port br0 abc" -j ACCEPT',
      '-d 10.1.0.2/32 ! -i br0 -o br0 -p udp -m udp --dport 53 -m comment --comment "berth port br0 abc" -j ACCEPT',
    ]);
  });

  it('an attachment never runs portmap (berth maps the ports), and only the primary network gives the default route', () => {
    const list = {
      cniVersion: '1.0.0',
      name: 'n',
      plugins: [{ type: 'bridge', isDefaultGateway: true }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth' }],
    };
    expect(attachList(list, { defaultRoute: true }).plugins).toEqual([{ type: 'bridge', isDefaultGateway: true }, { type: 'bandwidth' }]);
    expect(attachList(list, { defaultRoute: false }).plugins[0]).toEqual({ type: 'bridge', isDefaultGateway: false });
  });
});
