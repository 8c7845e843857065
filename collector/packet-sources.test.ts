import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DnsEvidence, FlowRecord } from '../model/index.js';
import { forEachChunk } from './lines.js';
import { pcap, parseDnsResponse } from './pcap.js';
import { pcapng } from './pcapng.js';
import { newReadContext, type FlowSource } from './source.js';
import { zeek } from './zeek.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const zeekDir = join(repoRoot, '../shared/fixtures/zeek-traces');
const fixturesExist = existsSync(join(zeekDir, 'traces')) && existsSync(join(zeekDir, 'baselines'));

interface Parsed { records: FlowRecord[]; dns: DnsEvidence[]; ctx: ReturnType<typeof newReadContext> }

async function readCapture(path: string): Promise<Parsed> {
  const src: FlowSource = path.endsWith('.pcapng') ? pcapng : pcap;
  const ctx = newReadContext(path);
  const records: FlowRecord[] = [];
  const dns: DnsEvidence[] = [];
  ctx.dns = (d) => dns.push(d);
  const h = src.openBinary!(ctx, (r) => records.push(r));
  await forEachChunk(path, (b) => h.chunk(b));
  h.end();
  return { records, dns, ctx };
}

/** Zeek's baselines mask times as `XXXXXXXXXX.XXXXXX`; any time will do for comparing connections. */
function readZeek(text: string): Parsed {
  const ctx = newReadContext('zeek.log');
  const records: FlowRecord[] = [];
  const dns: DnsEvidence[] = [];
  ctx.dns = (d) => dns.push(d);
  const h = zeek.open(ctx, (r) => records.push(r));
  text.replace(/X{10}\.X{6}/g, '1000000000.000000').split('\n').forEach((l, i) => h.line(l, i + 1));
  h.end?.();
  return { records, dns, ctx };
}

/** Connections as `client:port > server:port proto` → packets and bytes each way, from records carrying `reply`. */
function connections(records: FlowRecord[]): Record<string, { origPkts: number; origBytes: number; respPkts: number; respBytes: number }> {
  const out: Record<string, { origPkts: number; origBytes: number; respPkts: number; respBytes: number }> = {};
  for (const r of records) {
    const [c, cp, s, sp] = r.reply ? [r.dstIp, r.dstPort, r.srcIp, r.srcPort] : [r.srcIp, r.srcPort, r.dstIp, r.dstPort];
    const k = `${c}:${cp} > ${s}:${sp} ${r.protocol}`;
    const e = (out[k] ??= { origPkts: 0, origBytes: 0, respPkts: 0, respBytes: 0 });
    if (r.reply) { e.respPkts += r.packets; e.respBytes += r.bytes; } else { e.origPkts += r.packets; e.origBytes += r.bytes; }
  }
  return out;
}

const baseline = (name: string, log: string) => readFileSync(join(zeekDir, 'baselines', name, log), 'utf8');
const trace = (name: string) => join(zeekDir, 'traces', name);

describe.skipIf(!fixturesExist)('captures match Zeek (../shared missing)', () => {
  for (const [t, b] of [
    ['pcapng-multi-interface.pcapng', 'core.pcapng-pktsrc'],
    ['tunnels/vxlan.pcap', 'core.tunnels.vxlan'],
    ['tunnels/geneve.pcap', 'core.tunnels.geneve'],
    ['http/get.pcap', 'core.tcp.reassembly-known-ports'],
    ['wikipedia.pcap', 'opt.basic'],
  ] as const) {
    it(`${t}: connections, protocols, packets and IP bytes equal ${b}/conn.log`, async () => {
      const got = await readCapture(trace(t));
      const want = readZeek(baseline(b, 'conn.log'));
      expect(want.ctx.counts.skipped).toEqual({});
      expect(got.ctx.issues).toEqual([]);
      expect(connections(got.records)).toEqual(connections(want.records));
    });
  }

  it('wikipedia.pcap: DNS answers name the addresses dns.log names', async () => {
    const got = await readCapture(trace('wikipedia.pcap'));
    const want = readZeek(baseline('opt.basic', 'dns.log'));
    const pairs = (d: DnsEvidence[]) => [...new Set(d.map((x) => `${x.ip} ${x.name}`))].sort();
    expect(pairs(want.dns).length).toBeGreaterThan(0);
    expect(pairs(got.dns)).toEqual(pairs(want.dns));
    // TTL windows: 208.80.152.3 answered with TTL 2156 s.
    const w = got.dns.find((d) => d.ip === '208.80.152.3')!;
    expect(w.name).toBe('upload.wikimedia.org');
    expect(w.last - w.first).toBe(2156);
  });

  it('pcapng: two interfaces, DNS answers become evidence (www.apple.com, google.com A and AAAA)', async () => {
    const got = await readCapture(trace('pcapng-multi-interface.pcapng'));
    expect(got.ctx.counts).toEqual({ read: 6, skipped: {} });
    expect([...new Set(got.dns.map((d) => d.name))].sort()).toEqual(['google.com', 'www.apple.com']);
    expect(got.dns.some((d) => d.ip === '2607:f8b0:4023:2007::66' && d.name === 'google.com')).toBe(true);
  });

  it('Linux cooked v2 and v1 parse: ICMP / ICMPv6 on lo, ARP counted as not-ip', async () => {
    const sll2 = await readCapture(trace('linux_dlt_sll2.pcap'));
    expect(sll2.ctx.issues).toEqual([]);
    expect(sll2.records.map((r) => [r.srcIp, r.dstIp, r.protocol, r.packets])).toEqual([
      ['192.0.2.1', '192.0.2.1', 1, 2], ['fe80::8c36:6ff:fe44:acaf', 'fe80::8c36:6ff:fe44:acaf', 58, 2],
    ]);
    expect(sll2.ctx.counts).toEqual({ read: 6, skipped: { 'not-ip': 2 } });
    const sll = await readCapture(trace('linuxsll-arp.pcap'));
    expect(sll.ctx.counts).toEqual({ read: 12, skipped: { 'not-ip': 12 } });
    expect(sll.ctx.issues).toEqual([]);
  });

  it('dns53.pcap: a response from port 53 to port 53 is still a response (Zeek flips it)', async () => {
    const got = await readCapture(trace('dns53.pcap'));
    expect(got.dns.map((d) => d.name)).toContain('us.v27.distributed.net');
    expect(new Set(got.dns.map((d) => d.ip)).size).toBe(8);
    const want = readZeek(baseline('scripts.base.protocols.dns.flip', 'dns.log'));
    expect(want.ctx.counts.read).toBe(1);
  });
});

describe('pcap reader', () => {
  it('reports a damaged capture by byte offset and keeps what came before', () => {
    const ctx = newReadContext('x.pcap');
    const records: FlowRecord[] = [];
    const h = pcap.openBinary!(ctx, (r) => records.push(r));
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0);
    hdr.writeUInt16LE(2, 4); // libpcap format 2.4
    hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(101, 20);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(0x7fffffff, 8);
    h.chunk(Buffer.concat([hdr, rec]));
    h.end();
    expect(ctx.issues.map((i) => [i.offset, i.reason])).toEqual([[24, 'bad-record-length']]);
  });

  it('reads microsecond captures through pcap-parser and nanosecond ones through its own reader, to the same records', () => {
    // One UDP packet 10.0.0.1:40000 → 10.0.0.2:53 on a raw-IP link, written both ways.
    const ip = Buffer.from('4500001c0001000040110000' + '0a000001' + '0a000002' + '9c400035000800000000'.slice(0, 16), 'hex');
    const capture = (magic: number, sub: number) => {
      const hdr = Buffer.alloc(24);
      hdr.writeUInt32LE(magic, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6); hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(101, 20);
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(1762000000, 0); rec.writeUInt32LE(sub, 4); rec.writeUInt32LE(ip.length, 8); rec.writeUInt32LE(ip.length, 12);
      return Buffer.concat([hdr, rec, ip]);
    };
    const read = (buf: Buffer) => {
      const ctx = newReadContext('x.pcap');
      const records: FlowRecord[] = [];
      const h = pcap.openBinary!(ctx, (r) => records.push(r));
      h.chunk(buf.subarray(0, 30)); // split mid-record: both readers must carry the rest over
      h.chunk(buf.subarray(30));
      h.end();
      return { records, issues: ctx.issues };
    };
    const micro = read(capture(0xa1b2c3d4, 500_000));
    const nano = read(capture(0xa1b23c4d, 500_000_000));
    expect(micro.issues).toEqual([]);
    expect(micro.records).toHaveLength(1);
    expect(micro.records[0]).toMatchObject({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 40000, dstPort: 53, protocol: 17 });
    expect(nano.records).toEqual(micro.records);
  });

  it('detects by magic, both byte orders and nanosecond pcaps; pcapng by its section header', () => {
    const b = (hex: string) => new Uint8Array(Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(24)]));
    expect(pcap.detectBytes!(b('d4c3b2a1'))).toBe(true);
    expect(pcap.detectBytes!(b('a1b2c3d4'))).toBe(true);
    expect(pcap.detectBytes!(b('4d3cb2a1'))).toBe(true);
    expect(pcapng.detectBytes!(b('0a0d0d0a000000004d3c2b1a'))).toBe(true);
    expect(pcap.detectBytes!(b('0a0d0d0a000000004d3c2b1a'))).toBe(false);
  });

  it('DNS: a CNAME chain names the final address with the question', () => {
    const q = Buffer.from('03777777076578616d706c6503636f6d00', 'hex'); // www.example.com
    const msg = Buffer.concat([
      Buffer.from('12348180000100020000000000', 'hex').subarray(0, 12), q, Buffer.from('00010001', 'hex'),
      // www.example.com CNAME edge.example.net (pointer to the question at 12)
      Buffer.from('c00c0005000100000e100012', 'hex'), Buffer.from('04656467650765', 'hex'), Buffer.from('78616d706c65036e657400', 'hex'),
      // edge.example.net A 192.0.2.7, TTL 60 (pointer to the CNAME target at 12+17+4+12)
      Buffer.from('c02d000100010000003c0004c0000207', 'hex'),
    ]);
    const got: [string, string, number][] = [];
    parseDnsResponse(msg, 0, msg.length, 0, (ip, name, ttl) => got.push([ip, name, ttl]));
    expect(got).toEqual([['192.0.2.7', 'www.example.com', 60]]);
  });
});

describe('zeek', () => {
  it('JSON conn.log: originator and responder sides, ports, IP bytes; unset fields tolerated', () => {
    const ctx = newReadContext('conn.json');
    const out: FlowRecord[] = [];
    const h = zeek.open(ctx, (r) => out.push(r));
    h.line('{"ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.2","id.resp_p":443,"proto":"tcp","duration":2.5,"orig_bytes":100,"resp_bytes":2000,"conn_state":"SF","orig_pkts":5,"orig_ip_bytes":360,"resp_pkts":4,"resp_ip_bytes":2208}', 1);
    h.line('{"ts":1700000001,"uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":40001,"id.resp_h":"10.0.0.3","id.resp_p":5432,"proto":"tcp","conn_state":"S0","orig_pkts":1,"orig_ip_bytes":60,"resp_pkts":0,"resp_ip_bytes":0}', 2);
    h.line('{"ts":1700000002,"uid":"C3","id.orig_h":"bad","id.orig_p":1,"id.resp_h":"10.0.0.3","id.resp_p":2,"proto":"udp","conn_state":"S0"}', 3);
    expect(out).toMatchObject([
      { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 40000, dstPort: 443, protocol: 6, packets: 5, bytes: 360, start: 1700000000, end: 1700000003, reply: false },
      { srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 443, dstPort: 40000, packets: 4, bytes: 2208, reply: true },
      { srcIp: '10.0.0.1', dstIp: '10.0.0.3', dstPort: 5432, packets: 1, reply: false },
    ]);
    expect(out).toHaveLength(3);
    expect(ctx.issues.map((i) => [i.line, i.reason])).toEqual([[3, 'bad-address']]);
    expect(zeek.detect('{"ts":1,"uid":"C1","id.orig_h":"1.2.3.4","id.orig_p":1,"id.resp_h":"1.2.3.5","id.resp_p":2,"proto":"tcp","conn_state":"S0"}', 'x')).toBe(true);
  });

  it.skipIf(!fixturesExist)('TSV dns.log: answers that are addresses become DNS evidence with their TTL', () => {
    const got = readZeek(baseline('opt.basic', 'dns.log'));
    expect(got.ctx.issues).toEqual([]);
    expect(got.dns).toContainEqual({ ip: '208.80.152.3', name: 'upload.wikimedia.org', first: 1000000000, last: 1000002156 });
    expect(got.records).toEqual([]);
    expect(zeek.detect(baseline('opt.basic', 'dns.log'), 'dns.log')).toBe(true);
    expect(zeek.detect(baseline('opt.basic', 'http.log'), 'http.log')).toBe(false);
  });
});
