import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { protocolName, type FlowRecord } from '../model/index.js';
import { awsVpc } from './aws-vpc.js';
import { forEachLine, type ReadOutcome } from './lines.js';
import { newReadContext } from './source.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = join(repoRoot, '../shared/fixtures');
const awsDir = join(shared, 'aws-vpc-flow-logs/extracted');
const otelDir = join(shared, 'otel-contrib-cloud-flowlogs/aws-vpcflow');
const fixturesExist = existsSync(awsDir) && existsSync(otelDir);

interface Parsed {
  records: FlowRecord[];
  ctx: ReturnType<typeof newReadContext>;
  outcome?: ReadOutcome;
}

/** Through the real reader: forEachLine (gzip, line numbers) → the source's line handler. */
async function parseFile(path: string): Promise<Parsed> {
  const ctx = newReadContext(path);
  const records: FlowRecord[] = [];
  const h = awsVpc.open(ctx, (r) => records.push(r));
  const outcome = await forEachLine(path, (l, n) => h.line(l, n));
  h.end?.();
  return { records, ctx, outcome };
}

function parseLines(lines: string[]): Parsed {
  const ctx = newReadContext('test.log');
  const records: FlowRecord[] = [];
  const h = awsVpc.open(ctx, (r) => records.push(r));
  lines.forEach((l, i) => h.line(l, i + 1));
  h.end?.();
  return { records, ctx };
}

/** The fields a test states, so each expectation reads like the docs' sentence about that record. */
type Expect = Partial<FlowRecord>;
function expectRecords(got: FlowRecord[], want: Expect[]): void {
  expect(got).toHaveLength(want.length);
  want.forEach((w, i) => expect(got[i], `record ${i + 1}`).toMatchObject(w));
}

const TCP = 6;
const ICMP = 1;

describe.skipIf(!fixturesExist)('aws fixtures (../shared missing)', () => {
  it('v2 default: accept, reject, NODATA, SKIPDATA, ICMP pair, IPv6', async () => {
    const { records, ctx } = await parseFile(join(awsDir, 'v2-default-accept-reject-nodata-icmp-ipv6.log'));
    const eni = 'eni-1235b8ca123456789';
    expectRecords(records, [
      // SSH to the ENI, allowed.
      { srcIp: '172.31.16.139', dstIp: '172.31.16.21', srcPort: 20641, dstPort: 22, protocol: TCP, packets: 20, bytes: 4249, start: 1418530010, end: 1418530070, action: 'ACCEPT', observer: eni },
      // RDP to the ENI, rejected.
      { srcIp: '172.31.9.69', dstIp: '172.31.9.12', srcPort: 49761, dstPort: 3389, protocol: TCP, action: 'REJECT', observer: eni },
      // Ping from home allowed in; the response dropped by the stateless network ACL.
      { srcIp: '203.0.113.12', dstIp: '172.31.16.139', srcPort: 0, dstPort: 0, protocol: ICMP, packets: 4, bytes: 336, start: 1432917027, end: 1432917142, action: 'ACCEPT' },
      { srcIp: '172.31.16.139', dstIp: '203.0.113.12', srcPort: 0, dstPort: 0, protocol: ICMP, start: 1432917094, action: 'REJECT' },
      // SSH over IPv6.
      { srcIp: '2001:db8:1234:a100:8d6e:3477:df66:f105', dstIp: '2001:db8:1234:a102:3304:8879:34cf:4071', srcPort: 34892, dstPort: 22, protocol: TCP, packets: 54, bytes: 8855, action: 'ACCEPT' },
    ]);
    // The default format records neither flags nor direction.
    for (const r of records) {
      expect(r.tcpFlags).toBeUndefined();
      expect(r.direction).toBeUndefined();
    }
    expect(ctx.counts).toEqual({ read: 5, skipped: { nodata: 1, skipdata: 1 } });
    expect(ctx.issues.map((i) => [i.line, i.reason])).toEqual([[4, 'nodata'], [5, 'skipdata']]);
  });

  it('v3 custom (tcp-flags sequence): custom order, bytes before packets, SYN / SYN-ACK / FIN', async () => {
    const { records, ctx } = await parseFile(join(awsDir, 'v3-custom-tcp-flags.log'));
    const client = '52.213.180.42';
    const server = '10.0.0.62';
    const c = (srcPort: number, bytes: number, packets: number, start: number, end: number, tcpFlags: number): Expect =>
      ({ srcIp: client, dstIp: server, srcPort, dstPort: 5001, protocol: TCP, bytes, packets, start, end, tcpFlags, action: 'ACCEPT' });
    const s = (dstPort: number, bytes: number, packets: number, start: number, end: number, tcpFlags: number): Expect =>
      ({ srcIp: server, dstIp: client, srcPort: 5001, dstPort, protocol: TCP, bytes, packets, start, end, tcpFlags, action: 'ACCEPT' });
    expectRecords(records, [
      c(43416, 568, 8, 1566848875, 1566848933, 2), // SYN from the client
      s(43416, 376, 7, 1566848875, 1566848933, 18), // SYN-ACK from the server
      c(43418, 100701, 70, 1566848875, 1566848933, 2),
      s(43418, 632, 12, 1566848875, 1566848933, 18),
      s(43418, 63388, 1219, 1566848933, 1566849113, 1), // FIN, second interval
      c(43418, 23294588, 15774, 1566848933, 1566849113, 1),
      c(43638, 1260, 17, 1566933133, 1566933193, 3), // SYN+FIN in one interval
      s(43638, 967, 14, 1566933133, 1566933193, 19), // SYN-ACK+FIN
    ]);
    // interface-id is the observer even though instance-id is recorded too.
    for (const r of records) expect(r.observer).toBe('eni-1235b8ca123456789');
    expect(ctx.counts).toEqual({ read: 8, skipped: {} });
  });

  it('v5 custom: pkt-*-aws-service, traffic-path, flow-direction', async () => {
    const { records, ctx } = await parseFile(join(awsDir, 'v5-custom-service-traffic-path-flow-direction.log'));
    expectRecords(records, [
      // S3 answering the instance: ingress on its ENI.
      { srcIp: '52.95.128.179', dstIp: '10.0.0.71', srcPort: 80, dstPort: 34210, protocol: TCP, start: 1616729292, end: 1616729349, packets: 14, bytes: 15044, action: 'ACCEPT', tcpFlags: 19, direction: 'ingress', observer: 'eni-1235b8ca123456789' },
      // The instance calling S3 through the internet gateway: egress.
      { srcIp: '10.0.0.71', dstIp: '52.95.128.179', srcPort: 34210, dstPort: 80, protocol: TCP, packets: 7, bytes: 471, action: 'ACCEPT', tcpFlags: 3, direction: 'egress', observer: 'eni-1235b8ca123456789' },
    ]);
    expect(ctx.counts).toEqual({ read: 2, skipped: {} });
  });

  it('v3 transit gateway: no start/end in the format, so no record is read (every line counted)', async () => {
    const { records, ctx } = await parseFile(join(awsDir, 'v3-custom-transit-gateway.log'));
    expect(records).toEqual([]);
    expect(ctx.counts).toEqual({ read: 0, skipped: { 'missing-required-field': 5 } });
    expect(ctx.issues[0]).toMatchObject({ line: 1, reason: 'missing-required-field' });
    expect(ctx.issues[0].detail).toContain('start');
    expect(ctx.issues[0].detail).toContain('end');
    expect(ctx.issues[0].detail).not.toContain('action');
  });

  it('NAT gateway / instance custom formats (addresses only): skipped with missing-required-field', async () => {
    for (const [file, lines] of [['custom-nat-gateway.log', 5], ['custom-nat-instance-eni.log', 3]] as const) {
      const { records, ctx } = await parseFile(join(awsDir, file));
      expect(records, file).toEqual([]);
      expect(ctx.counts, file).toEqual({ read: 0, skipped: { 'missing-required-field': lines } });
      expect(ctx.issues[0].detail, file).toMatch(/protocol.*start.*end.*action/);
    }
  });

  /** The docs' NAT and transit-gateway records, given the fields they lack, read with the meaning the docs give. */
  function withTimes(file: string): string[] {
    const [header, ...rows] = readFileSync(join(awsDir, file), 'utf8').trimEnd().split('\n');
    const have = header.split(' ');
    const add = ['protocol', 'start', 'end', 'action'].filter((f) => !have.includes(f));
    const vals = { protocol: '6', start: '1700000000', end: '1700000060', action: 'ACCEPT' } as Record<string, string>;
    return [[header, ...add].join(' '), ...rows.map((r) => [r, ...add.map((f) => vals[f])].join(' '))];
  }

  it('NAT gateway records: pkt-srcaddr / pkt-dstaddr name the real endpoints behind the NAT ENI', () => {
    const nat = parseLines(withTimes('custom-nat-gateway.log'));
    const eni = 'eni-1235b8ca123456789';
    expectRecords(nat.records, [
      // Instance → NAT ENI (dstaddr 10.0.0.220), bound for the internet host (pkt-dstaddr).
      { srcIp: '10.0.1.5', dstIp: '203.0.113.5', observer: eni },
      // NAT ENI → host, and the host's response to the NAT ENI.
      { srcIp: '10.0.0.220', dstIp: '203.0.113.5', observer: eni },
      { srcIp: '203.0.113.5', dstIp: '10.0.0.220', observer: eni },
      // NAT ENI → instance (srcaddr 10.0.0.220), carrying the host's response (pkt-srcaddr).
      { srcIp: '203.0.113.5', dstIp: '10.0.1.5', observer: eni },
    ]);
    // instance-id is `-` on a requester-managed ENI; interface-id is the observer either way.
    const inst = parseLines(withTimes('custom-nat-instance-eni.log'));
    expectRecords(inst.records, [
      { srcIp: '10.0.1.5', dstIp: '203.0.113.5', observer: 'eni-1111aaaa2222bbbb3' },
      { srcIp: '203.0.113.5', dstIp: '10.0.1.5', observer: 'eni-1111aaaa2222bbbb3' },
    ]);
    expect(nat.ctx.counts.skipped).toEqual({});
    expect(inst.ctx.counts.skipped).toEqual({});
  });

  it('transit gateway records: the client in VPC A, not the TGW ENI, is the peer', () => {
    const { records, ctx } = parseLines(withTimes('v3-custom-transit-gateway.log'));
    expectRecords(records, [
      // Request and response on the web server's ENI.
      { srcIp: '10.20.33.164', dstIp: '10.40.2.236', srcPort: 39812, dstPort: 80, protocol: TCP, tcpFlags: 3, action: 'ACCEPT', observer: 'eni-33333333333333333' },
      { srcIp: '10.40.2.236', dstIp: '10.20.33.164', srcPort: 80, dstPort: 39812, protocol: TCP, tcpFlags: 19, observer: 'eni-33333333333333333' },
      // Request on the TGW ENI: srcaddr is the TGW's 10.40.1.175, pkt-srcaddr the client.
      { srcIp: '10.20.33.164', dstIp: '10.40.2.236', srcPort: 39812, dstPort: 80, tcpFlags: 3, observer: 'eni-11111111111111111' },
      // Response on the other TGW ENI: dstaddr is the TGW's 10.40.2.31, pkt-dstaddr the client.
      { srcIp: '10.40.2.236', dstIp: '10.20.33.164', srcPort: 80, dstPort: 39812, tcpFlags: 19, observer: 'eni-22222222222222222' },
    ]);
    expect(ctx.counts.skipped).toEqual({});
  });

  it('ECS record (otel-contrib) matches the expected attributes field by field', async () => {
    const { records, ctx } = await parseFile(join(otelDir, 'valid_vpc_flow_log_ecs.log'));
    expect(ctx.counts).toEqual({ read: 1, skipped: {} });
    const r = records[0];
    const doc = parseYaml(readFileSync(join(otelDir, 'valid_vpc_flow_log_ecs_expected.yaml'), 'utf8'));
    const log = doc.resourceLogs[0].scopeLogs[0].logRecords[0];
    const attrs = new Map<string, string>(
      log.attributes.map((a: { key: string; value: { stringValue?: string; intValue?: string } }) => [a.key, a.value.stringValue ?? a.value.intValue]),
    );
    const carried: Record<string, string> = {
      'source.address': r.srcIp,
      'destination.address': r.dstIp,
      'source.port': String(r.srcPort),
      'destination.port': String(r.dstPort),
      'network.protocol.name': protocolName(r.protocol).toLowerCase(),
      'aws.vpc.flow.packets': String(r.packets),
      'aws.vpc.flow.bytes': String(r.bytes),
      'aws.vpc.flow.start': String(r.start),
      'aws.vpc.flow.action': r.action,
      'network.interface.name': r.observer ?? '',
      // A record is emitted only for log-status OK.
      'aws.vpc.flow.status': 'OK',
    };
    for (const [key, value] of Object.entries(carried)) expect(attrs.get(key), key).toBe(value);
    // otel puts `end` in the record's timestamp.
    expect(BigInt(log.timeUnixNano)).toBe(BigInt(r.end) * 1_000_000_000n);
    // Every other attribute is one segmap knowingly does not carry; a new one in the fixture must be looked at.
    const notCarried = [...attrs.keys()].filter((k) => !(k in carried));
    expect(notCarried.every((k) => k === 'aws.vpc.flow.log.version' || k.startsWith('aws.ecs.')), notCarried.join(', ')).toBe(true);
  });

  it('detect() claims every fixture', () => {
    const files = [
      ...['custom-nat-gateway.log', 'custom-nat-instance-eni.log', 'v2-default-accept-reject-nodata-icmp-ipv6.log', 'v3-custom-tcp-flags.log',
        'v3-custom-transit-gateway.log', 'v5-custom-service-traffic-path-flow-direction.log'].map((f) => join(awsDir, f)),
      join(otelDir, 'valid_vpc_flow_log_ecs.log'),
    ];
    for (const f of files) expect(awsVpc.detect(readFileSync(f, 'utf8').slice(0, 4096), f), f).toBe(true);
  });
});

describe('aws-vpc: own cases', () => {
  const V2 = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
  const rec = (i: number, action = 'ACCEPT') =>
    `2 123456789010 eni-0a1b2c3d4e5f60718 10.0.${i % 256}.${(i * 7) % 256} 10.1.2.3 ${40000 + (i % 20000)} 443 6 ${i % 90 + 1} ${i * 37} ${1700000000 + i} ${1700000060 + i} ${action} OK`;

  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'segmap-aws-vpc-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('gzip via forEachLine', async () => {
    const path = join(dir, '123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz');
    writeFileSync(path, gzipSync([V2, rec(1), rec(2, 'REJECT'), rec(3)].join('\n') + '\n'));
    const { records, ctx, outcome } = await parseFile(path);
    expect(outcome?.error).toBeUndefined();
    expectRecords(records, [
      { srcIp: '10.0.1.7', dstIp: '10.1.2.3', srcPort: 40001, dstPort: 443, action: 'ACCEPT', start: 1700000001, end: 1700000061 },
      { srcIp: '10.0.2.14', srcPort: 40002, action: 'REJECT' },
      { srcIp: '10.0.3.21', srcPort: 40003, bytes: 111, packets: 4 },
    ]);
    expect(ctx.counts).toEqual({ read: 3, skipped: {} });
  });

  it('truncated gzip: the outcome carries the error, every record before it was emitted, in order', async () => {
    const total = 100_000;
    const rows = [V2];
    for (let i = 0; i < total; i++) rows.push(rec(i));
    const gz = gzipSync(rows.join('\n') + '\n');
    const path = join(dir, 'truncated.log.gz');
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
    const { records, ctx, outcome } = await parseFile(path);
    expect(outcome?.error).toBeInstanceOf(Error);
    expect(records.length).toBeGreaterThan(1000);
    expect(records.length).toBeLessThan(total);
    expect(ctx.counts.read).toBe(records.length);
    records.forEach((r, i) => {
      if (r.start !== 1700000000 + i) expect(r, `record ${i}`).toMatchObject({ start: 1700000000 + i });
    });
    // The partial line at the cut is dropped by the reader, not reported as a bad record.
    expect(ctx.counts.skipped).toEqual({});
  });

  it('garbage lines become located issues with stable reasons, and the run continues', () => {
    const { records, ctx } = parseLines([
      V2,
      rec(1),
      'hello world',
      '\u0000\u0001\u00ff garbage',
      rec(2).replace(' 443 ', ' 443 443 '),
      rec(3).replace('10.1.2.3', '10.1.2.256'),
      rec(4).replace('10.1.2.3', '010.1.2.3'),
      rec(5).replace('10.1.2.3', 'example.com'),
      rec(6).replace(' 443 ', ' 70000 '),
      rec(7).replace(' 443 6 ', ' 443 tcp '),
      rec(8).replace(' 443 6 ', ' 443 256 '),
      rec(9).replace(' 1700000009 ', ' -5 '),
      rec(10, 'ALLOW'),
      rec(11).replace(/ OK$/, ' MAYBE'),
      rec(12, '-'),
      rec(13).replace(' 443 6 ', ' 443 - '),
      rec(14).replace(/ 10\.0\.14\.98 /, ' - '),
      '',
      '   ',
      rec(15),
    ]);
    expect(records.map((r) => r.srcPort)).toEqual([40001, 40015]);
    expect(ctx.issues.map((i) => `${i.line} ${i.reason}`)).toEqual([
      '3 bad-field-count',
      '4 bad-field-count',
      '5 bad-field-count',
      '6 bad-address',
      '7 bad-address',
      '8 bad-address',
      '9 bad-number',
      '10 bad-number',
      '11 bad-number',
      '12 bad-number',
      '13 bad-value',
      '14 bad-value',
      '15 missing-value',
      '16 missing-value',
      '17 missing-value',
    ]);
    expect(ctx.issues.find((i) => i.line === 6)?.detail).toBe('dstaddr "10.1.2.256"');
    expect(ctx.issues.find((i) => i.line === 9)?.detail).toBe('dstport "70000"');
    expect(ctx.issues.find((i) => i.line === 5)?.detail).toBe('expected 14 fields, got 15');
    expect(ctx.counts.read).toBe(2);
  });

  it('unknown header field: one issue at line 1 naming it, records still read', () => {
    const header = `${V2} flow-colour`;
    const { records, ctx } = parseLines([header, `${rec(1)} blue`, `${rec(2)} red`]);
    expect(records.map((r) => r.srcPort)).toEqual([40001, 40002]);
    expect(ctx.issues).toEqual([{ file: 'test.log', line: 1, reason: 'unknown-field', detail: 'ignored: flow-colour' }]);
    expect(ctx.counts).toEqual({ read: 2, skipped: { 'unknown-field': 1 } });
  });

  it('header without a required field: reported, and every line counted', () => {
    const header = 'version srcaddr dstaddr srcport dstport protocol start end log-status';
    const { records, ctx } = parseLines([header, '2 10.0.0.1 10.0.0.2 40000 443 6 1 2 OK', '2 10.0.0.1 10.0.0.2 40000 443 6 1 2 OK']);
    expect(records).toEqual([]);
    expect(ctx.issues[0]).toMatchObject({ line: 1, reason: 'missing-required-field', detail: 'header lacks action; no record can be read' });
    expect(ctx.counts).toEqual({ read: 0, skipped: { 'missing-required-field': 3 } });
  });

  it('CloudWatch export without a header: default v2 layout, detected from the first record', () => {
    const lines = [
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA',
      '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK',
    ];
    expect(awsVpc.detect(lines.join('\n'), 'export-000000.txt')).toBe(true);
    // A NODATA record first is still a v2 record.
    expect(awsVpc.detect(lines.slice(1).join('\n'), 'x')).toBe(true);
    const { records, ctx } = parseLines(lines);
    expectRecords(records, [
      { srcIp: '172.31.16.139', dstIp: '172.31.16.21', srcPort: 20641, dstPort: 22, action: 'ACCEPT', observer: 'eni-1235b8ca123456789' },
      { srcIp: '172.31.9.69', dstPort: 3389, action: 'REJECT' },
    ]);
    expect(ctx.counts).toEqual({ read: 2, skipped: { nodata: 1 } });
  });

  it('IPv6: canonical form, ICMPv6 without ports, invalid address rejected', () => {
    const { records, ctx } = parseLines([
      V2,
      '2 1 eni-1 2001:0DB8:0000:0000:0000:0000:0000:0001 2001:db8:0:0:1:0:0:2 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK',
      '2 1 eni-1 fd00::10 fd00::20 128 0 58 2 128 1700000000 1700000060 ACCEPT OK',
      '2 1 eni-1 ::ffff:10.0.0.1 fd00::20 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK',
      '2 1 eni-1 2001:db8::g fd00::20 40000 443 6 1 60 1700000000 1700000060 ACCEPT OK',
    ]);
    expectRecords(records, [
      { srcIp: '2001:db8::1', dstIp: '2001:db8::1:0:0:2', srcPort: 40000, dstPort: 443 },
      // ICMPv6 echo: type 128 in the port column must not become a port.
      { srcIp: 'fd00::10', dstIp: 'fd00::20', protocol: 58, srcPort: 0, dstPort: 0 },
      // IPv4-mapped is the IPv4 endpoint.
      { srcIp: '10.0.0.1', dstIp: 'fd00::20' },
    ]);
    expect(ctx.issues.map((i) => [i.line, i.reason, i.detail])).toEqual([[5, 'bad-address', 'srcaddr "2001:db8::g"']]);
  });

  it('ICMP: values in the port columns are dropped', () => {
    const { records } = parseLines([V2, '2 1 eni-1 10.0.0.1 10.0.0.2 8 0 1 4 336 1700000000 1700000060 ACCEPT OK']);
    expectRecords(records, [{ protocol: ICMP, srcPort: 0, dstPort: 0 }]);
  });

  it('custom field order, `-` as absent, interface-id falling back to instance-id', () => {
    const header = 'log-status action end start bytes packets protocol dstport srcport dstaddr srcaddr instance-id interface-id tcp-flags flow-direction';
    const { records, ctx } = parseLines([
      header,
      'OK REJECT 1700000060 1700000000 120 2 17 53 51000 10.0.0.53 10.0.1.9 i-0abc - - egress',
      'OK ACCEPT 1700000060 1700000000 - - 6 - - 10.0.0.53 10.0.1.9 - eni-9 0 -',
    ]);
    expectRecords(records, [
      { srcIp: '10.0.1.9', dstIp: '10.0.0.53', srcPort: 51000, dstPort: 53, protocol: 17, packets: 2, bytes: 120, action: 'REJECT', observer: 'i-0abc', direction: 'egress' },
      { srcPort: 0, dstPort: 0, packets: 0, bytes: 0, tcpFlags: 0, observer: 'eni-9', action: 'ACCEPT' },
    ]);
    expect(records[0].tcpFlags).toBeUndefined();
    expect(records[1].direction).toBeUndefined();
    expect(ctx.counts).toEqual({ read: 2, skipped: {} });
  });

  it('runs of spaces separate like one (as in the docs\' own SYN-ACK+FIN example)', () => {
    const header = 'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status';
    const line = '3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK';
    const { records, ctx } = parseLines([header, line]);
    expectRecords(records, [{ srcIp: '10.0.0.62', dstIp: '52.213.180.42', srcPort: 5001, dstPort: 43638, bytes: 967, packets: 14, tcpFlags: 19 }]);
    expect(ctx.counts.skipped).toEqual({});
  });

  it('concatenated objects: a repeated header is passed over, a different one switches the layout', () => {
    const other = 'srcaddr dstaddr dstport protocol start end action';
    const { records, ctx } = parseLines([V2, rec(1), V2, rec(2), other, '10.9.9.9 10.8.8.8 8080 6 1700000000 1700000060 ACCEPT']);
    expectRecords(records, [{ srcPort: 40001 }, { srcPort: 40002 }, { srcIp: '10.9.9.9', dstIp: '10.8.8.8', srcPort: 0, dstPort: 8080 }]);
    expect(ctx.counts).toEqual({ read: 3, skipped: {} });
  });

  it('a usable header after an unusable one (concatenated objects) is taken up again', () => {
    const nat = 'instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr';
    const { records, ctx } = parseLines([nat, 'i-1 eni-1 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5', V2, rec(1)]);
    expectRecords(records, [{ srcPort: 40001 }]);
    expect(ctx.counts).toEqual({ read: 1, skipped: { 'missing-required-field': 2 } });
  });

  it('a CloudWatch Logs export to S3 (each line prefixed by its event timestamp) is read as the default layout', () => {
    const lines = [`2021-03-26T03:17:49.000Z ${rec(1)}`, `2021-03-26T03:17:50.000Z ${rec(2)}`, '2021-03-26T03:17:51.000Z garbage'];
    expect(awsVpc.detect(lines.join('\n'), 'export.log')).toBe(true);
    const { records, ctx } = parseLines(lines);
    expectRecords(records, [{ srcPort: 40001 }, { srcPort: 40002 }]);
    expect(ctx.issues.map((i) => [i.line, i.reason])).toEqual([[3, 'bad-field-count']]);
  });

  it('detect(): headers and v2 records yes, other formats no', () => {
    expect(awsVpc.detect(`${V2}\n${rec(1)}\n`, 'a.log')).toBe(true);
    expect(awsVpc.detect('srcaddr dstaddr protocol start end action colour\n', 'a.log')).toBe(true);
    expect(awsVpc.detect(`${rec(1)}\r\n`, 'a.log')).toBe(true);
    expect(awsVpc.detect('', '123456789010_vpcflowlogs_us-east-1_fl-1_20180620T1620Z_h.log.gz')).toBe(true);
    expect(awsVpc.detect('', 'flows.log')).toBe(false);
    expect(awsVpc.detect('{"flow":{"source":{}}}\n', 'hubble.json')).toBe(false);
    expect(awsVpc.detect('apiVersion: v1\nkind: Pod\n', 'pod.yaml')).toBe(false);
    expect(awsVpc.detect('#separator \\x09\n#fields\tts\tuid\n', 'conn.log')).toBe(false);
    expect(awsVpc.detect('hello world\n', 'a.txt')).toBe(false);
    expect(awsVpc.detect('2 1 2 3\n', 'a.txt')).toBe(false);
  });
});
