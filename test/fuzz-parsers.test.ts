/**
 * Property tests for every parser: random and mutated inputs never throw, every non-blank line is read or counted
 * under a named reason, and every issue carries a location. Seeds are fixed so CI is deterministic; fast-check prints
 * the seed and the shrunk counterexample of a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { awsVpc } from '../collector/aws-vpc.js';
import { hubble } from '../collector/hubble.js';
import { k8sAudit } from '../collector/k8s-audit.js';
import { k8sDump } from '../collector/k8s-dump.js';
import { pcap } from '../collector/pcap.js';
import { pcapng } from '../collector/pcapng.js';
import { readFlowFile } from '../collector/read-flows.js';
import { SOURCES } from '../collector/registry.js';
import { newReadContext, type FlowSource, type ObjectSource, type AuditSource } from '../collector/source.js';
import { zeek } from '../collector/zeek.js';
import type { FlowRecord, InputIssue } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestFile } from '../ui/ingest.js';

/** Runs per property; every parser gets at least this many (the line parsers get it three times over). */
export const FUZZ_RUNS = 300;
const params = (seed: number) => ({ numRuns: FUZZ_RUNS, seed, endOnFailure: true });

/** Inputs each parser was given over the whole file, printed at the end (the README quotes it). */
const tally: Record<string, number> = {};
const count = (name: string) => { tally[name] = (tally[name] ?? 0) + 1; };
afterAll(async () => {
  console.log(`fuzz inputs per parser: ${Object.entries(tally).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
});

const skippedTotal = (c: { skipped: Record<string, number> }) => Object.values(c.skipped).reduce((a, b) => a + b, 0);
const located = (i: InputIssue) => typeof i.file === 'string' && (Number.isInteger(i.line) || Number.isInteger(i.offset));

// ---- valid records -------------------------------------------------------------------------------------------

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const port = fc.nat(65535);
const epoch = fc.integer({ min: 1_600_000_000, max: 1_800_000_000 });

const awsLine = fc.record({ s: ipv4, d: ipv4, sp: port, dp: port, p: fc.constantFrom(6, 17, 1), n: fc.nat(1000), b: fc.nat(1e6), t: epoch, a: fc.constantFrom('ACCEPT', 'REJECT') })
  .map((r) => `2 123456789012 eni-0a1b2c ${r.s} ${r.d} ${r.sp} ${r.dp} ${r.p} ${r.n} ${r.b} ${r.t} ${r.t + 60} ${r.a} OK`);
const AWS_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

const hubbleLine = fc.record({ s: ipv4, d: ipv4, sp: port, dp: port, t: epoch, v: fc.constantFrom('FORWARDED', 'DROPPED', 'AUDIT') })
  .map((r) => JSON.stringify({
    flow: {
      time: new Date(r.t * 1000).toISOString(), verdict: r.v, IP: { source: r.s, destination: r.d, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: r.sp, destination_port: r.dp, flags: { SYN: true } } },
      source: { namespace: 'shop', labels: ['k8s:app=a'], pod_name: 'a-1' }, destination: { namespace: 'shop', labels: ['k8s:app=b'] },
      Type: 'L3_L4', traffic_direction: 'EGRESS', is_reply: false,
    },
    node_name: 'n1', time: new Date(r.t * 1000).toISOString(),
  }));

const ZEEK_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes'];
const ZEEK_HEADER = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', `#fields\t${ZEEK_FIELDS.join('\t')}`];
const zeekConn = fc.record({ s: ipv4, d: ipv4, sp: port, dp: port, t: epoch, p: fc.constantFrom('tcp', 'udp', 'icmp') })
  .map((r) => [`${r.t}.000001`, 'C1', r.s, r.sp, r.d, r.dp, r.p, '-', '0.1', '10', '20', 'SF', '2', '90', '1', '60']);
const zeekTsvLine = zeekConn.map((v) => v.join('\t'));
const zeekJsonLine = zeekConn.map((v) => JSON.stringify(Object.fromEntries(ZEEK_FIELDS.map((f, i) => [f, /^\d+$/.test(String(v[i])) ? Number(v[i]) : v[i]]))));

const auditLine = fc.record({ u: fc.string({ maxLength: 8 }), v: fc.constantFrom('get', 'list', 'watch', 'create'), t: epoch, c: fc.constantFrom(200, 403, 500) })
  .map((r) => JSON.stringify({
    kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `id-${r.t}-${r.u}`, stage: 'ResponseComplete', verb: r.v,
    requestURI: '/api/v1/pods', user: { username: r.u }, objectRef: { resource: 'pods', namespace: 'shop', apiVersion: 'v1' },
    responseStatus: { code: r.c }, requestReceivedTimestamp: new Date(r.t * 1000).toISOString(), stageTimestamp: new Date(r.t * 1000).toISOString(),
  }));

const k8sObject = fc.record({ kind: fc.constantFrom('Pod', 'Service', 'Deployment', 'Secret'), name: fc.string({ minLength: 1, maxLength: 10 }), ns: fc.string({ maxLength: 6 }) })
  .map((o) => ({ apiVersion: 'v1', kind: o.kind, metadata: { name: o.name, namespace: o.ns, labels: { app: o.name } }, spec: { ports: [{ port: 80 }] }, data: { k: 'c2VjcmV0' } }));

// ---- mutations -----------------------------------------------------------------------------------------------

const outOfRange = fc.constantFrom('-1', '65536', '4294967296', '9007199254740993', '1e309', '-0', 'NaN', 'Infinity', '0x10', '１２', '', '99999999999999999999999');
const garbage = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1'));

/** A line mutated the ways real files break: bytes flipped, fields dropped or duplicated, numbers out of range, cut short. */
function mutate(line: fc.Arbitrary<string>, sep: string): fc.Arbitrary<string> {
  return fc.oneof(
    line,
    fc.tuple(line, fc.nat(), fc.integer({ min: 0, max: 0xffff })).map(([l, i, c]) => l.slice(0, i % (l.length + 1)) + String.fromCharCode(c) + l.slice((i % (l.length + 1)) + 1)),
    fc.tuple(line, fc.nat()).map(([l, i]) => { const f = l.split(sep); f.splice(i % f.length, 1); return f.join(sep); }),
    fc.tuple(line, fc.nat()).map(([l, i]) => { const f = l.split(sep); f.splice(i % f.length, 0, f[i % f.length]); return f.join(sep); }),
    fc.tuple(line, fc.nat(), outOfRange).map(([l, i, v]) => { const f = l.split(sep); f[i % f.length] = v; return f.join(sep); }),
    fc.tuple(line, fc.nat(), outOfRange).map(([l, i, v]) => l.replace(/-?\d+(\.\d+)?/g, (m, _d, off: number) => (off % 7 === i % 7 ? v : m))),
    fc.tuple(line, fc.nat()).map(([l, i]) => l.slice(0, i % (l.length + 1))),
    fc.tuple(line, garbage).map(([l, g]) => l + g),
    garbage,
    fc.string({ maxLength: 200 }),
    fc.constant(''),
  );
}

/** What a record must be, whatever the input: valid addresses, ports, protocol, non-negative finite counts and times. */
export function recordProblems(r: FlowRecord): string[] {
  const p: string[] = [];
  if (!isIP(r.srcIp) || !isIP(r.dstIp)) p.push(`address ${r.srcIp} ${r.dstIp}`);
  for (const k of ['srcPort', 'dstPort'] as const) if (!Number.isInteger(r[k]) || r[k] < 0 || r[k] > 65535) p.push(`${k} ${r[k]}`);
  if (!Number.isInteger(r.protocol) || r.protocol < 0 || r.protocol > 255) p.push(`protocol ${r.protocol}`);
  for (const k of ['packets', 'bytes'] as const) if (!Number.isFinite(r[k]) || r[k] < 0) p.push(`${k} ${r[k]}`);
  for (const k of ['start', 'end'] as const) if (!Number.isFinite(r[k])) p.push(`${k} ${r[k]}`);
  if (r.tcpFlags !== undefined && (!Number.isInteger(r.tcpFlags) || r.tcpFlags < 0)) p.push(`tcpFlags ${r.tcpFlags}`);
  return p;
}

/** Feed lines to a flow source; per line, note whether it was read or counted under a reason. */
function runLines(source: FlowSource, lines: string[]) {
  count(source.format);
  const ctx = newReadContext('fuzz.log');
  let emitted = 0;
  const h = source.open(ctx, (r) => {
    emitted++;
    const p = recordProblems(r);
    if (p.length) throw new Error(`${source.format} emitted a bad record (${p.join(', ')}): ${JSON.stringify(r)}`);
  });
  const unaccounted: { lineNo: number; text: string }[] = [];
  lines.forEach((text, i) => {
    const before = ctx.counts.read + skippedTotal(ctx.counts);
    h.line(text, i + 1);
    if (ctx.counts.read + skippedTotal(ctx.counts) === before) unaccounted.push({ lineNo: i + 1, text });
  });
  h.end?.();
  return { ctx, emitted, unaccounted };
}

interface LineCase {
  source: FlowSource;
  header: string[];
  line: fc.Arbitrary<string>;
  sep: string;
  /** Lines a format itself treats as structure (headers, comments), not records: allowed to go uncounted. */
  structural: (text: string) => boolean;
}

const lineCases: Record<string, LineCase> = {
  'aws-vpc': { source: awsVpc, header: [AWS_HEADER], line: awsLine, sep: ' ', structural: (t) => /^[a-z]/.test(t.replace(/^\S*T\S*Z /, '')) || t.trim() === '' },
  'hubble': { source: hubble, header: [], line: hubbleLine, sep: ',', structural: (t) => t.trim() === '' && t.length < 8 },
  'zeek (tsv)': { source: zeek, header: ZEEK_HEADER, line: zeekTsvLine, sep: '\t', structural: (t) => t.startsWith('#') || t === '' },
  // A line starting with `#` is a Zeek directive (`#fields`, `#close`) in either flavour.
  'zeek (json)': { source: zeek, header: [], line: zeekJsonLine, sep: ',', structural: (t) => t.startsWith('#') || t === '' },
};

describe('fuzz: line-oriented flow parsers', () => {
  let seed = 1000;
  for (const [name, c] of Object.entries(lineCases)) {
    const s = seed++;
    it(`${name}: mutated records never throw, every line read or counted, issues located`, () => {
      fc.assert(fc.property(fc.array(mutate(c.line, c.sep), { maxLength: 30 }), fc.boolean(), (body, withHeader) => {
        const lines = [...(withHeader ? c.header : []), ...body];
        const { ctx, emitted, unaccounted } = runLines(c.source, lines);
        expect(unaccounted.filter((u) => !c.structural(u.text))).toEqual([]);
        expect(ctx.issues.every(located)).toBe(true);
        expect(emitted).toBeLessThanOrEqual(2 * ctx.counts.read); // zeek: a connection is two records
        for (const v of Object.values(ctx.counts.skipped)) expect(Number.isInteger(v) && v > 0).toBe(true);
      }), params(s));
    });
    it(`${name}: valid records are all read`, () => {
      fc.assert(fc.property(fc.array(c.line, { minLength: 1, maxLength: 20 }), (body) => {
        const { ctx } = runLines(c.source, [...c.header, ...body]);
        expect(ctx.counts.read).toBe(body.length);
        expect(skippedTotal(ctx.counts)).toBe(0);
      }), params(s + 100));
    });
  }

  it('every registered flow source (incl. gcp-vpc, azure-flow) survives arbitrary text lines', async () => {
    const textSources = SOURCES.filter((s): s is FlowSource => s.kind === 'flows' && !s.openBinary);
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 300 }), garbage, fc.json(), mutate(hubbleLine, ',')), { maxLength: 20 }), (lines) => {
      for (const s of textSources) {
        const { ctx, unaccounted } = runLines(s, lines);
        expect(ctx.issues.every(located)).toBe(true);
        // Blank lines and (for aws-vpc) header-like lines are structure; a JSON format counts every other line.
        if (s.format === 'hubble') expect(unaccounted.filter((u) => u.text.trim() !== '')).toEqual([]);
      }
    }), params(2000));
  });

  it('regression: hubble refuses addresses that are not IPs and ports out of range (were emitted as records)', async () => {
    const flow = (ip: string, port: unknown) => JSON.stringify({ flow: { time: '2026-01-01T00:00:00Z', verdict: 'FORWARDED', IP: { source: ip, destination: '10.0.0.2' }, l4: { TCP: { source_port: port, destination_port: 80 } } } });
    const { ctx, emitted } = runLines(hubble, [flow('1跻8.91.10.66', 1234), flow('-0.127.219', 1234), flow('10.0.0.1', -1), flow('10.0.0.1', 70000), flow('10.0.0.1', '80'), flow('10.0.0.1', 1234)]);
    expect(emitted).toBe(1);
    expect(ctx.counts.skipped).toEqual({ 'bad-address': 2, 'bad-port': 3 });
    expect(ctx.issues.map((i) => i.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it('regression: zeek refuses negative or non-numeric counts (a -1 packet count was emitted)', async () => {
    const row = (pkts: string, dur = '0.1') => [`1700000000.000001`, 'C1', '10.0.0.1', '1234', '10.0.0.2', '80', 'tcp', '-', dur, '10', '20', 'SF', pkts, '90', '1', '60'].join('\t');
    const { ctx, emitted } = runLines(zeek, [...ZEEK_HEADER, row('-1'), row('x'), row('2', '-5'), row('2'), row('-')]);
    expect(ctx.counts.read).toBe(2);
    expect(emitted).toBe(4);
    expect(ctx.counts.skipped).toEqual({ 'bad-number': 3 });
  });

  it('huge lines (several MiB) are handled without throwing', async () => {
    const huge = 'x'.repeat(4 << 20);
    for (const c of Object.values(lineCases)) {
      const { ctx } = runLines(c.source, [...c.header, huge, `{"flow":${huge}`]);
      expect(ctx.issues.every(located)).toBe(true);
    }
  });
});

// ---- binary captures -----------------------------------------------------------------------------------------

/** An Ethernet/IPv4/TCP SYN frame. */
function tcpFrame(src: number[], dst: number[], sp: number, dp: number): Buffer {
  const f = Buffer.alloc(14 + 20 + 20);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45; f.writeUInt16BE(40, 16); f[22] = 64; f[23] = 6;
  Buffer.from(src).copy(f, 26); Buffer.from(dst).copy(f, 30);
  f.writeUInt16BE(sp, 34); f.writeUInt16BE(dp, 36); f[46] = 0x50; f[47] = 0x02;
  return f;
}

function pcapFile(frames: Buffer[], nanos: boolean): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0); g.writeUInt16LE(2, 4); g.writeUInt16LE(4, 6); g.writeUInt32LE(65535, 16); g.writeUInt32LE(1, 20);
  const recs = frames.map((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0); h.writeUInt32LE(0, 4); h.writeUInt32LE(f.length, 8); h.writeUInt32LE(f.length, 12);
    return Buffer.concat([h, f]);
  });
  return Buffer.concat([g, ...recs]);
}

function pcapngFile(frames: Buffer[]): Buffer {
  const block = (type: number, body: Buffer) => {
    const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
    const len = 12 + body.length + pad.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0); b.writeUInt32LE(len, 4); Buffer.concat([body, pad]).copy(b, 8); b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16); shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeInt32LE(-1, 8); shb.writeInt32LE(-1, 12);
  const idb = Buffer.alloc(8); idb.writeUInt16LE(1, 0); idb.writeUInt32LE(65535, 4);
  const epbs = frames.map((f, i) => {
    const h = Buffer.alloc(20);
    const us = BigInt(1_700_000_000 + i) * 1_000_000n;
    h.writeUInt32LE(0, 0); h.writeUInt32LE(Number(us >> 32n), 4); h.writeUInt32LE(Number(us & 0xffffffffn), 8); h.writeUInt32LE(f.length, 12); h.writeUInt32LE(f.length, 16);
    return block(6, Buffer.concat([h, f]));
  });
  return Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb), ...epbs]);
}

const frames = fc.array(fc.tuple(fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), port, port)
  .map(([s, d, sp, dp]) => tcpFrame(s, d, sp, dp)), { minLength: 1, maxLength: 8 });

/** Byte-level mutations of a valid file: flips, overwrites with extreme u32s, truncation, garbage appended. */
function mutateBytes(file: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    file,
    fc.tuple(file, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 })).map(([b, flips]) => {
      const c = Buffer.from(b);
      for (const [i, v] of flips) c[i % c.length] = v;
      return c;
    }),
    fc.tuple(file, fc.nat(), fc.constantFrom(0, 1, 3, 11, 12, 0xffffffff, 0x7fffffff, 0x10000)).map(([b, i, v]) => {
      const c = Buffer.from(b);
      const at = (i % Math.max(1, c.length - 4)) & ~3;
      c.writeUInt32LE(v, at);
      return c;
    }),
    // The last record's header: a corrupt length there has nothing after it to read into.
    fc.tuple(file, fc.integer({ min: 1, max: 24 }), fc.constantFrom(0, 4, 12, 16, 20, 28, 0xffff)).map(([b, k, v]) => {
      const c = Buffer.from(b);
      if (c.length >= 4 * k) c.writeUInt32LE(v, c.length - 4 * k);
      return c;
    }),
    fc.tuple(file, fc.nat()).map(([b, i]) => b.subarray(0, i % (b.length + 1))),
    fc.tuple(file, fc.uint8Array({ maxLength: 100 })).map(([b, g]) => Buffer.concat([b, Buffer.from(g)])),
    fc.uint8Array({ maxLength: 300 }).map((g) => Buffer.from(g)),
  );
}

function runChunks(source: FlowSource, file: Buffer, cut: number) {
  count(source.format);
  const ctx = newReadContext('fuzz.pcap');
  let emitted = 0;
  const h = source.openBinary!(ctx, (r) => {
    emitted++;
    const p = recordProblems(r);
    if (p.length) throw new Error(`${source.format} emitted a bad record (${p.join(', ')}): ${JSON.stringify(r)}`);
  });
  // Split at an arbitrary point: handlers must keep what straddles two chunks.
  const at = file.length === 0 ? 0 : cut % file.length;
  if (at > 0) h.chunk(file.subarray(0, at));
  if (at < file.length) h.chunk(file.subarray(at));
  h.end();
  return { ctx, emitted };
}

describe('fuzz: binary capture parsers', () => {
  const cases: [string, FlowSource, fc.Arbitrary<Buffer>][] = [
    ['pcap (microseconds)', pcap, frames.map((f) => pcapFile(f, false))],
    ['pcap (nanoseconds)', pcap, frames.map((f) => pcapFile(f, true))],
    ['pcapng', pcapng, frames.map((f) => pcapngFile(f))],
  ];
  let seed = 3000;
  for (const [name, source, file] of cases) {
    const s = seed++;
    it(`${name}: mutated, truncated and garbage files never throw; issues carry an offset`, () => {
      fc.assert(fc.property(mutateBytes(file), fc.nat(), (buf, cut) => {
        const { ctx } = runChunks(source, buf, cut);
        expect(ctx.issues.every((i) => Number.isInteger(i.offset) && i.offset! >= 0)).toBe(true);
      }), params(s));
    });
    it(`${name}: valid captures give one record per packet, split anywhere`, () => {
      fc.assert(fc.property(frames, fc.nat(), (fs, cut) => {
        const buf = name === 'pcapng' ? pcapngFile(fs) : pcapFile(fs, name.includes('nano'));
        const { ctx, emitted } = runChunks(source, buf, cut);
        expect(ctx.issues).toEqual([]);
        expect(emitted).toBe(fs.length);
      }), params(s + 100));
    });
  }

  it('regression: a pcapng packet block shorter than its fixed fields is a located issue, not a RangeError', async () => {
    const good = pcapngFile([tcpFrame([10, 0, 0, 1], [10, 0, 0, 2], 1234, 80)]);
    const shb = good.subarray(0, good.readUInt32LE(4));
    const idb = good.subarray(shb.length, shb.length + good.readUInt32LE(shb.length + 4));
    for (const type of [6, 2, 3]) {
      for (const bodyLen of [0, 4, 8, 16]) {
        const len = 12 + bodyLen;
        const blk = Buffer.alloc(len);
        blk.writeUInt32LE(type, 0); blk.writeUInt32LE(len, 4); blk.writeUInt32LE(len, len - 4);
        const { ctx } = runChunks(pcapng, Buffer.concat([shb, idb, blk]), 0);
        expect(ctx.issues.map((i) => i.reason)).toContain(type === 3 && len >= 16 ? 'bad-packet' : 'bad-block-length');
        expect(ctx.issues.every((i) => Number.isInteger(i.offset))).toBe(true);
      }
    }
  });
});

// ---- whole-file readers: cluster dumps and audit logs --------------------------------------------------------

function runWhole(source: ObjectSource | AuditSource, text: string) {
  count(source.format);
  const ctx = newReadContext('fuzz.yaml');
  const out = source.read(text, ctx);
  return { ctx, out };
}

describe('fuzz: whole-file readers', () => {
  it('k8s-dump: mutated JSON and YAML dumps never throw; issues carry a line', async () => {
    const json = fc.array(k8sObject, { maxLength: 6 }).map((items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 1));
    const yamlText = fc.array(k8sObject, { maxLength: 6 }).map((items) => items.map((o) => `apiVersion: v1\nkind: ${o.kind}\nmetadata:\n  name: ${JSON.stringify(o.metadata.name)}\n  namespace: ${JSON.stringify(o.metadata.namespace)}\nspec:\n  ports:\n  - port: 80\n`).join('---\n'));
    fc.assert(fc.property(fc.oneof(mutate(json, '\n'), mutate(yamlText, '\n'), fc.string({ maxLength: 400 })), (text) => {
      const { ctx, out } = runWhole(k8sDump, text);
      expect(ctx.issues.every((i) => i.line === undefined || Number.isInteger(i.line))).toBe(true);
      expect(out.length).toBe(ctx.counts.read);
      // A Secret never carries its data past the reader.
      for (const o of out) if (o.kind === 'Secret') expect((o as Record<string, unknown>).data).toBeUndefined();
    }), params(4000));
  });

  it('k8s-dump: valid dumps are read whole', async () => {
    fc.assert(fc.property(fc.array(k8sObject, { minLength: 1, maxLength: 6 }), (items) => {
      const { ctx, out } = runWhole(k8sDump, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      expect(out.length).toBe(items.length);
      expect(skippedTotal(ctx.counts)).toBe(0);
    }), params(4001));
  });

  it('k8s-dump: a billion-laughs alias bomb is refused with a located error, without blowing memory', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: laughs\ndata:\n  ${levels.join('\n  ')}\n`;
    const heap = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const { ctx, out } = runWhole(k8sDump, bomb);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(200 << 20);
    expect(out.map((o) => o.metadata.name)).toEqual(['ok']);
    const issue = ctx.issues.find((i) => i.reason === 'yaml-alias-limit');
    expect(issue, JSON.stringify(ctx.issues)).toBeDefined();
    expect(issue!.line).toBe(5); // the document's start
    expect(issue!.detail).toMatch(/alias/i);
  });

  it('k8s-dump: deeply nested documents are refused or read, never a stack overflow', async () => {
    for (const depth of [1000, 20000]) {
      for (const text of [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, `${'['.repeat(depth)}${']'.repeat(depth)}`]) {
        const { ctx } = runWhole(k8sDump, text);
        expect(ctx.issues.every((i) => i.line === undefined || Number.isInteger(i.line))).toBe(true);
      }
    }
  });

  it('k8s-audit: mutated event lines never throw; every non-blank line is read or counted', async () => {
    fc.assert(fc.property(fc.array(mutate(auditLine, ','), { minLength: 2, maxLength: 20 }), (lines) => {
      const text = lines.join('\n');
      const { ctx } = runWhole(k8sAudit, text);
      expect(ctx.issues.every(located)).toBe(true);
      // JSON lines (two or more): every non-blank line is an event read, or a counted skip.
      if (!text.trimStart().startsWith('{') || /\}\s*\n\s*\{/.test(text.trimStart())) {
        expect(ctx.counts.read + skippedTotal(ctx.counts)).toBe(text.split('\n').filter((l) => l.trim() !== '').length);
      }
    }), params(4100));
  });

  it('k8s-audit: deeply nested JSON is counted, never a stack overflow', async () => {
    const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`;
    const { ctx } = runWhole(k8sAudit, `${deep}\n${deep}`);
    expect(ctx.counts.read + skippedTotal(ctx.counts)).toBe(2);
  });
});

// ---- files on disk: truncation, gzip, limits ----------------------------------------------------------------

describe('fuzz: files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmap-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('truncated and corrupted gzip keeps what was read and reports where it stopped', async () => {
    const text = `${AWS_HEADER}\n${Array.from({ length: 2000 }, (_, i) => `2 123456789012 eni-1 10.0.0.1 10.0.0.2 ${1024 + i} 443 6 1 60 1700000000 1700000060 ACCEPT OK`).join('\n')}\n`;
    const gz = gzipSync(text);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 10, max: gz.length - 1 }), fc.option(fc.tuple(fc.nat(), fc.nat(255))), async (cut, flip) => {
      const b = Buffer.from(gz.subarray(0, cut));
      if (flip) b[10 + (flip[0] % Math.max(1, b.length - 10))] = flip[1];
      const path = join(dir, 'cut.log.gz');
      writeFileSync(path, b);
      count('gzip file (truncated/corrupted)');
      const r = await readFlowFile(path, awsVpc, { onBatch: () => {} });
      expect(r.complete).toBe(false);
      expect(r.issues.every(located)).toBe(true);
      expect(r.counts.read).toBeLessThanOrEqual(2000);
    }), { ...params(5000), numRuns: 60 });
  });

  it('ingest (detection + read + store) of random and mutated files never throws; an input is stored only when read', async () => {
    const store = SqliteStore.open(':memory:');
    const samples = fc.oneof(
      fc.array(mutate(awsLine, ' '), { maxLength: 20 }).map((ls) => [AWS_HEADER, ...ls].join('\n')),
      fc.array(mutate(hubbleLine, ','), { maxLength: 20 }).map((ls) => ls.join('\n')),
      fc.array(mutate(zeekTsvLine, '\t'), { maxLength: 20 }).map((ls) => [...ZEEK_HEADER, ...ls].join('\n')),
      fc.array(mutate(auditLine, ','), { maxLength: 10 }).map((ls) => ls.join('\n')),
      fc.array(k8sObject, { maxLength: 5 }).map((items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items })),
    ).chain((t) => fc.oneof(fc.constant(Buffer.from(t)), fc.constant(gzipSync(t)), mutateBytes(fc.constant(Buffer.from(t)))));
    const files = fc.oneof(samples, mutateBytes(frames.map((f) => pcapFile(f, false))), mutateBytes(frames.map((f) => pcapngFile(f))));
    let n = 0;
    await fc.assert(fc.asyncProperty(files, async (buf) => {
      const path = join(dir, `in-${n++}`);
      writeFileSync(path, buf);
      const before = (await store.counts()).inputs;
      const r = await ingestFile(store, path);
      count(`ingest end-to-end (${r.format ?? r.status})`);
      expect(['ingested', 'partial', 'unchanged', 'unrecognized', 'failed']).toContain(r.status);
      expect(r.issues.every(located) || r.status === 'unrecognized').toBe(true);
      expect((await store.counts()).inputs - before).toBe(r.status === 'ingested' || r.status === 'partial' ? 1 : 0);
      expect(store.db.inTransaction).toBe(false);
    }), { ...params(5100), numRuns: 200 });
    await store.close();
  });
});
