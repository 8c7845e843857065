/**
 * The Hubble scanner (`hubble-scan.ts`) against `JSON.parse`: for every line it reads, its view must be the one the
 * parsed object gives, and a whole read with the scanner must give exactly what a read with `JSON.parse` alone gives
 * (records, DNS evidence, issues, counts). Run over the real Hubble fixture, over generated flows varied in every way
 * the source reads (envelope or bare, key order, escapes, Unicode, missing and mistyped fields, duplicate keys, reply
 * flags, drops with reasons, DNS names, L7, ICMP/SCTP, endpoints of every kind), and over byte-level mutations of
 * real lines (which must be refused or read exactly as parsing reads them).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DnsEvidence, FlowRecord, InputIssue, ReadCounts } from '../model/index.js';
import { hubbleViews, openHubble, TimeParser } from './hubble.js';
import type { FlowView } from './hubble-scan.js';
import { newReadContext } from './source.js';

const FIXTURE = resolve(import.meta.dirname, '../../shared/fixtures/cilium-hubble-otel-flows');
const realLines = (): string[] => existsSync(FIXTURE)
  ? readdirSync(FIXTURE).filter((f) => f.endsWith('.json')).sort()
    .flatMap((f) => readFileSync(join(FIXTURE, f), 'utf8').split('\n').filter((l) => l.length > 0))
  : [];

const RUNS = 400;
const params = (seed: number, numRuns = RUNS) => ({ numRuns, seed, endOnFailure: true });

/** Compares the scanner's view of each line with parsing's; returns how many lines the scanner read. */
function compareViews(lines: string[]): number {
  const views = hubbleViews();
  let scanned = 0;
  for (const line of lines) {
    const s = views.scan(line);
    const p = views.parse(line);
    if (s === undefined) continue;
    scanned++;
    // The scanner's hints (both addresses are IPv4: no need to ask net.isIP; the time's whole second) must be true...
    if (s.ipv4) expect([isIP(s.srcIp), isIP(s.dstIp)], line).toEqual([4, 4]);
    if (!Number.isNaN(s.timeMs)) expect(s.timeMs, line).toBe(new TimeParser().parse(s.time));
    // ...and the rest equal to parsing's view, field for field.
    if (s.srcEntry !== undefined) expect(s.srcEntry.ep).toBe(s.source);
    if (s.dstEntry !== undefined) expect(s.dstEntry.ep).toBe(s.destination);
    const plain: FlowView = { ...s, ipv4: false, timeMs: NaN, srcEntry: undefined, dstEntry: undefined };
    // (The quick check first: vitest's deep equality is slow, and is only needed to show a difference.)
    if (!isDeepStrictEqual(plain, p)) expect(plain, line).toStrictEqual(p);
  }
  return scanned;
}

interface Outcome { records: FlowRecord[]; dns: DnsEvidence[]; issues: InputIssue[]; counts: ReadCounts }

function read(lines: string[], scan: boolean): Outcome {
  const ctx = newReadContext('hubble.json');
  const records: FlowRecord[] = [];
  const dns: DnsEvidence[] = [];
  ctx.dns = (d) => dns.push(d);
  const h = openHubble(ctx, (r) => records.push(r), { scan });
  lines.forEach((l, i) => h.line(l, i + 1));
  h.end?.();
  return { records, dns, issues: ctx.issues, counts: ctx.counts };
}

/** The whole read, scanner vs `JSON.parse` alone: the same records, evidence, issues and counts, in the same order. */
function compareReads(lines: string[]): Outcome {
  const fast = read(lines, true);
  expect(fast).toStrictEqual(read(lines, false));
  return fast;
}

// ---- generated flows -------------------------------------------------------------------------------------------

/** Text written as is (numbers JSON.stringify never writes, escaped keys, broken values). */
class Raw { constructor(readonly text: string) {} }
/** An object with its members in a given order (keys may repeat, or be Raw). */
class Obj { constructor(readonly members: [string | Raw, J][]) {} }
type J = null | boolean | number | string | Raw | Obj | J[];

function write(v: J, sp: string): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${sp}${v.members.map(([k, x]) => `${k instanceof Raw ? k.text : JSON.stringify(k)}${sp}:${sp}${write(x, sp)}`).join(`${sp},${sp}`)}${sp}}`;
  if (Array.isArray(v)) return `[${sp}${v.map((x) => write(x, sp)).join(`${sp},${sp}`)}${sp}]`;
  return JSON.stringify(v);
}

const tricky = fc.constantFrom('', 'a', 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'ünïcödé', '日本語', '\u2028\u2029', '😀', '\ud800', '\udfff x',
  '}{][', ':,', 'Ģ', '\u0000', '\u001f', '/', 'ÿ');
const anyString = fc.oneof(tricky, fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary-ascii', maxLength: 8 }));
/** A value of any type, for fields read with a type in mind. */
const notString: fc.Arbitrary<J> = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom<J>(new Raw('1.5'), new Raw('-0'), new Raw('8.0e1'), new Raw('1E2'), new Raw('0'), new Raw('80.0'), [], [1, 'a'], new Obj([]), new Obj([['a', 1]])));
const junk: fc.Arbitrary<J> = fc.oneof(notString, anyString);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const isoTime = fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }).chain((ms) => fc.constantFrom(
  new Date(ms).toISOString(), new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'), new Date(ms).toISOString().replace('Z', '123456Z'),
  new Date(ms).toISOString().replace('Z', '+02:00'), new Date(ms).toISOString().replace('T', ' '), `${new Date(ms).toISOString().slice(0, 19)}.Z`));
const flagNames = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS', 'constructor', '__proto__', 'toString'];
const labelPool = ['k8s:app=web', 'k8s:app=api', 'k8s:version=v2', 'k8s:io.kubernetes.pod.namespace=shop', 'k8s:io.cilium.k8s.policy.serviceaccount=web',
  'k8s:pod-template-hash=7d9f8b6c5d', 'k8s:job-name=backup-28012345', 'k8s:statefulset.kubernetes.io/pod-name=db-0', 'reserved:world', 'reserved:host',
  'reserved:remote-node', 'reserved:kube-apiserver', 'reserved:health', 'cidr:10.0.0.0/8', 'fqdn:example.com', 'k8s:app=say "hi" {x}', 'k8s:noval'];
/** A few fixed endpoints, so the scanner's endpoint cache is hit across the lines of a batch. */
const knownEndpoints = [
  new Obj([['ID', 881], ['identity', 3418], ['namespace', 'shop'], ['labels', ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop']], ['pod_name', 'web-7d9f8b6c5d-x2x4z']]),
  new Obj([['identity', 3419], ['namespace', 'shop'], ['labels', ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=shop']]]),
  new Obj([['identity', 2], ['labels', ['reserved:world']]]),
  new Obj([['identity', 6], ['labels', ['reserved:remote-node']]]),
  new Obj([['ID', 12], ['identity', 200], ['namespace', 'shop'], ['labels', ['k8s:app=api']], ['workloads', [new Obj([['name', 'api'], ['kind', 'StatefulSet']])]]]),
];

/**
 * Flow lines. `wild`: any field may be of any type, read strings may hold escapes or non-ASCII characters, keys may
 * repeat or be escaped, `flow` may come after the envelope's other keys — shapes the scanner leaves to parsing. Tame:
 * every shape a Hubble exporter writes, each of which the scanner must read itself.
 */
function flowLines(wild: boolean): fc.Arbitrary<string> {
  /** A well-typed value, or (wild) now and then any value. */
  const maybe = <T extends J>(a: fc.Arbitrary<T>): fc.Arbitrary<J> => (wild ? fc.oneof({ arbitrary: a, weight: 15 }, { arbitrary: junk, weight: 1 }) : a);
  /** null most of the time (`fc.option`'s `freq` is the other way round: null one time in freq). */
  const rarely = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: a, weight: 1 });
  const text = (...xs: string[]) => (wild ? fc.oneof({ arbitrary: fc.constantFrom(...xs), weight: 15 }, tricky) : fc.constantFrom(...xs));

  const ip = fc.oneof({ arbitrary: ipv4, weight: 6 }, fc.constantFrom('10.0.0.01', '256.1.1.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '0.0.0.0', '255.255.255.255',
    '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '::ffff:10.0.0.1', 'x'), ...(wild ? [fc.constantFrom('１.2.3.4', ''), tricky] : []));
  const port: fc.Arbitrary<J> = wild
    ? fc.oneof({ arbitrary: fc.nat(65535), weight: 20 }, fc.constantFrom<J>(-1, 65536, 70000, '80', null, true, new Raw('80.0'), new Raw('1e2'), new Raw('0')))
    : fc.nat(65535);
  const time = fc.oneof({ arbitrary: isoTime, weight: 20 }, wild ? fc.constantFrom<J>('yesterday', '', 1700000000, null) : fc.constantFrom('yesterday', ''));
  const verdict = fc.constantFrom<J>('FORWARDED', 'FORWARDED', 'DROPPED', 'REDIRECTED', 'AUDIT', 'TRACED', 'TRANSLATED', 'ERROR', 'VERDICT_UNKNOWN', 'forwarded', '',
    ...(wild ? [null, 3] : []));
  const flags = fc.subarray(flagNames).chain((ks) => fc.tuple(...ks.map(() => maybe(fc.boolean())))
    .map((vs) => new Obj(ks.map((k, i) => [k, vs[i]]))));
  const ports = (withFlags: boolean) => fc.record({ s: port, d: port, f: withFlags ? fc.option(maybe(flags)) : fc.constant(null), x: fc.boolean() })
    .chain(({ s, d, f, x }) => fc.shuffledSubarray<[string, J]>([['source_port', s], ['destination_port', d], ...(f !== null ? [['flags', f] as [string, J]] : []),
      ...(x ? [['extra', new Obj([['n', 1]])] as [string, J]] : [])], { minLength: 0 }).map((m) => new Obj(m)));
  const icmp = fc.record({ t: maybe(fc.nat(255)), c: fc.nat(10) })
    .chain(({ t, c }) => fc.shuffledSubarray<[string, J]>([['type', t], ['code', c]]).map((m) => new Obj(m)));
  const protoObj: fc.Arbitrary<[string, J]> = fc.oneof(
    { arbitrary: ports(true).map((o): [string, J] => ['TCP', o]), weight: 6 },
    { arbitrary: ports(false).map((o): [string, J] => ['UDP', o]), weight: 4 },
    ports(false).map((o): [string, J] => ['SCTP', o]),
    icmp.map((o): [string, J] => ['ICMPv4', o]),
    icmp.map((o): [string, J] => ['ICMPv6', o]),
    fc.tuple(fc.constantFrom('ICMP', 'tcp', 'other'), wild ? junk : fc.constant(new Obj([['type', 1]]))),
    ...(wild ? [fc.tuple(fc.constantFrom('TCP', 'UDP', 'ICMPv4'), junk)] : []),
  );
  const l4 = wild ? fc.oneof({ arbitrary: protoObj.map((p) => new Obj([p])), weight: 20 }, fc.array(protoObj, { maxLength: 2 }).map((m) => new Obj(m)), junk)
    : fc.oneof({ arbitrary: protoObj.map((p) => new Obj([p])), weight: 20 }, fc.constant(new Obj([])));
  const endpointObj = fc.record({
    id: fc.option(fc.nat(4000)), identity: fc.option(fc.oneof(fc.constantFrom(1, 2, 4, 6, 7, 8, 16777217), fc.nat(70000))),
    ns: fc.option(maybe(fc.constantFrom('shop', 'kube-system', 'bookinfo', ''))),
    labels: fc.option(wild ? fc.oneof({ arbitrary: fc.subarray([...labelPool, 'k8s:app=ünï'], { maxLength: 5 }), weight: 8 }, fc.array(junk, { maxLength: 3 }), junk)
      : fc.subarray(labelPool, { maxLength: 5 })),
    pod: fc.option(maybe(fc.constantFrom('web-7d9f8b6c5d-x2x4z', 'db-0', 'backup-28012345-abcde', 'node-exporter-bcdfg', 'api', ''))),
    wl: fc.option(fc.constantFrom<J>([new Obj([['name', 'api'], ['kind', 'StatefulSet']])], [], [new Obj([['name', 'x']])], 'api')),
  }).map((e) => new Obj([
    ...(e.id !== null ? [['ID', e.id] as [string, J]] : []), ...(e.identity !== null ? [['identity', e.identity] as [string, J]] : []),
    ...(e.ns !== null ? [['namespace', e.ns] as [string, J]] : []), ...(e.labels !== null ? [['labels', e.labels] as [string, J]] : []),
    ...(e.pod !== null ? [['pod_name', e.pod] as [string, J]] : []), ...(e.wl !== null ? [['workloads', e.wl] as [string, J]] : []),
  ]));
  const endpoint = fc.oneof({ arbitrary: fc.constantFrom(...knownEndpoints), weight: 12 }, { arbitrary: endpointObj, weight: 8 }, ...(wild ? [junk] : []));
  const dnsObj = fc.record({ q: maybe(text('example.com.', 'api.shop.svc.cluster.local.', 'x', '')), ips: maybe(fc.array(fc.oneof({ arbitrary: ip, weight: 6 }, wild ? junk : notString), { maxLength: 3 })),
    ttl: maybe(fc.nat(4294967295)), rc: fc.nat(5) })
    .chain(({ q, ips, ttl, rc }) => fc.shuffledSubarray<[string, J]>([['query', q], ['ips', ips], ['ttl', ttl], ['rcode', rc], ['qtypes', ['A']]]).map((m) => new Obj(m)));
  const httpObj = fc.record({ url: anyString, code: fc.nat(600), h: fc.array(fc.tuple(anyString, anyString), { maxLength: 3 }) })
    .map(({ url, code, h }) => new Obj([['code', code], ['method', 'GET'], ['url', url], ['protocol', 'HTTP/1.1'], ['headers', h.map(([k, v]) => new Obj([['key', k], ['value', v]]))]]));
  const l7 = maybe(fc.record({ t: fc.constantFrom('REQUEST', 'RESPONSE'), dns: fc.option(fc.oneof({ arbitrary: dnsObj, weight: 8 }, wild ? junk : notString)), http: fc.option(httpObj), lat: fc.option(fc.nat(1e9)) })
    .map(({ t, dns, http, lat }) => new Obj([['type', t], ...(dns !== null ? [['dns', dns] as [string, J]] : []), ...(http !== null ? [['http', http] as [string, J]] : []),
      ...(lat !== null ? [['latency_ns', lat] as [string, J]] : [])])));
  const ipObj = fc.record({ s: wild ? fc.option(maybe(ip), { freq: 10 }) : ip, d: wild ? fc.option(maybe(ip), { freq: 10 }) : ip, v: fc.constantFrom('IPv4', 'IPv6') })
    .chain(({ s, d, v }) => {
      const m: [string, J][] = [...(s !== null ? [['source', s] as [string, J]] : []), ...(d !== null ? [['destination', d] as [string, J]] : []), ['ipVersion', v]];
      return fc.shuffledSubarray(m, { minLength: wild ? 0 : m.length }).map((ms) => new Obj(ms));
    });

  /** The members of a flow: the ones the source reads (each present or not) and others it passes over. */
  const flowMembers = fc.record({
    time: fc.option(time, { freq: 8 }), verdict: fc.option(verdict, { freq: 8 }),
    dropDesc: rarely(maybe(fc.oneof(text('POLICY_DENIED', 'STALE_OR_UNROUTABLE_IP', 'x'), fc.nat(200)))), drop: rarely(maybe(fc.oneof(fc.nat(200), text('131')))),
    ip: wild ? fc.oneof({ arbitrary: ipObj, weight: 12 }, junk) : ipObj,
    l4: fc.option(l4, { freq: 10 }), source: fc.option(endpoint, { freq: 8 }), destination: fc.option(endpoint, { freq: 8 }),
    type: fc.option(maybe(text('L3_L4', 'L7', 'L7 ', 'SOCK')), { freq: 8 }), node: fc.option(maybe(text('n1', 'gke-node-pool-1-abcd-5236', 'gke-node-pool-1-abcd-hr0z')), { freq: 8 }),
    isReply: fc.option(maybe(fc.boolean()), { freq: 3 }), reply: fc.option(maybe(fc.boolean()), { freq: 2 }),
    names: rarely(fc.oneof({ arbitrary: fc.array(fc.oneof({ arbitrary: text('example.com.', 'api.example.com', '', 'x'), weight: 8 }, wild ? junk : notString)), weight: 8 }, wild ? junk : notString)),
    l7: fc.option(l7, { freq: 2 }), summary: fc.option(anyString), ethernet: fc.boolean(), nested: rarely(fc.constantFrom<J>(new Obj([['verdict', 'DROPPED']]), null)),
  }).map((f) => {
    const m: [string, J][] = [];
    const put = (k: string, v: J | null | undefined) => { if (v !== null && v !== undefined) m.push([k, v]); };
    put('time', f.time); put('verdict', f.verdict); put('drop_reason_desc', f.dropDesc); put('drop_reason', f.drop);
    if (f.ethernet) m.push(['ethernet', new Obj([['source', '46:e5:ea:1f:95:ff'], ['destination', 'd6:ec:b0:4a:ff:46']])]);
    m.push(['IP', f.ip]); put('l4', f.l4); put('source', f.source); put('destination', f.destination); put('Type', f.type); put('node_name', f.node);
    m.push(['event_type', new Obj([['type', 4], ['sub_type', 3]])]); put('is_reply', f.isReply); put('reply', f.reply);
    put('destination_names', f.names); put('l7', f.l7); put('Summary', f.summary); m.push(['traffic_direction', 'EGRESS']);
    // `flow` inside a flow is not read (only the line's top-level `flow` is the flow).
    put('flow', f.nested);
    return m;
  });

  /** Reordered members; wild: a member repeated with another value, a key written with an escape. */
  const reshape = (members: [string, J][]) => fc.record({
    order: fc.boolean(), dup: wild ? rarely(fc.tuple(fc.nat(members.length - 1), junk)) : fc.constant(null), esc: wild ? rarely(fc.nat(members.length - 1)) : fc.constant(null),
  }).chain(({ order, dup, esc }) => (order ? fc.shuffledSubarray(members, { minLength: members.length }) : fc.constant(members)).map((ms) => {
    const out: [string | Raw, J][] = [...ms];
    if (dup) out.push([ms[dup[0]][0], dup[1]]);
    if (esc !== null) {
      const [k, v] = ms[esc];
      out[esc] = [new Raw(`"${k.slice(0, -1)}\\u${k.charCodeAt(k.length - 1).toString(16).padStart(4, '0')}"`), v];
    }
    return new Obj(out);
  }));

  /** The envelope (its `flow` first or, wild, later) or the bare flow; compact or with white space. */
  return flowMembers.chain((members) => fc.record({
    flow: reshape(members), envelope: fc.constantFrom('first', 'first', 'first', wild ? 'later' : 'first', 'bare', 'bare'), sp: fc.constantFrom('', '', '', ' ', ' \t'),
    top: fc.record({ node: fc.option(maybe(text('n9', 'gke-node-pool-1-abcd-5236'))), time: fc.option(time) }), pad: fc.constantFrom('', '', ' ', '\t', '\r'),
  }).map(({ flow, envelope, sp, top, pad }) => {
    // A bare flow with a `flow` member is an envelope after all (parsing takes that member as the flow): wild only.
    if (envelope === 'bare') return pad + write(wild ? flow : new Obj(flow.members.filter(([k]) => k !== 'flow')), sp) + pad;
    const tops: [string, J][] = [];
    if (top.node !== null) tops.push(['node_name', top.node]);
    if (top.time !== null) tops.push(['time', top.time]);
    const env = envelope === 'first' ? new Obj([['flow', flow], ...tops]) : new Obj([...tops, ['flow', flow]]);
    return pad + write(env, sp) + pad;
  }));
}
const flowLine = flowLines(true);
const tameLine = flowLines(false);

/** A line with one of its characters replaced, removed, or repeated, or cut short. */
const mutated = (line: fc.Arbitrary<string>) => fc.tuple(line, fc.nat(), fc.constantFrom('replace', 'delete', 'insert', 'cut'), fc.constantFrom(...'{}[]":,\\ 0aZ-.eEtfnu\u0000\u00e9'))
  .map(([l, at, how, c]) => {
    const i = l.length === 0 ? 0 : at % l.length;
    if (how === 'replace') return l.slice(0, i) + c + l.slice(i + 1);
    if (how === 'delete') return l.slice(0, i) + l.slice(i + 1);
    if (how === 'insert') return l.slice(0, i) + c + l.slice(i);
    return l.slice(0, i);
  });

// ---- the tests -------------------------------------------------------------------------------------------------

describe('Hubble scanner vs JSON.parse: the same view of every line it reads', () => {
  it.skipIf(!existsSync(FIXTURE))('real Hubble lines (cilium-hubble-otel-flows): every one is scanned, each view equals parsing\'s', () => {
    const lines = realLines();
    expect(lines.length).toBeGreaterThan(1900);
    // The scanner must take all of them: a line it left would cost the full parse again (the bench would not show it).
    expect(compareViews(lines)).toBe(lines.length);
  });

  it.skipIf(!existsSync(FIXTURE))('real Hubble files: a read with the scanner equals a read with JSON.parse alone', () => {
    for (const f of readdirSync(FIXTURE).filter((x) => x.endsWith('.json'))) {
      const out = compareReads(readFileSync(join(FIXTURE, f), 'utf8').split('\n'));
      expect(out.counts.read, f).toBeGreaterThan(0);
    }
  });

  it('generated flows of every shape an exporter writes: each one is scanned, and its view equals parsing\'s', () => {
    fc.assert(fc.property(fc.array(tameLine, { minLength: 1, maxLength: 12 }), (lines) => {
      expect(compareViews(lines)).toBe(lines.length);
    }), params(7000));
  });

  it('generated flows with fields of any type, escapes, Unicode, repeated or escaped keys: views equal', () => {
    let scanned = 0;
    fc.assert(fc.property(fc.array(flowLine, { minLength: 1, maxLength: 12 }), (lines) => {
      scanned += compareViews(lines);
    }), params(7001));
    // Most of these lines are left to parsing on purpose; enough are scanned for the comparison to bite.
    expect(scanned).toBeGreaterThan(50);
  });

  it('generated flows: a read with the scanner equals a read with JSON.parse alone (records, DNS, issues, counts)', () => {
    fc.assert(fc.property(fc.array(fc.oneof({ arbitrary: tameLine, weight: 3 }, { arbitrary: flowLine, weight: 3 }, mutated(flowLine)), { minLength: 1, maxLength: 15 }), (lines) => {
      compareReads(lines);
    }), params(7002));
  });

  it('mutated lines (a character replaced, removed, added, or the line cut): refused, or read exactly as parsing reads them', () => {
    fc.assert(fc.property(fc.array(mutated(fc.oneof(tameLine, flowLine)), { minLength: 1, maxLength: 10 }), (lines) => {
      compareViews(lines);
    }), params(7003));
  });

  it.skipIf(!existsSync(FIXTURE))('mutated real lines: refused, or read exactly as parsing reads them', () => {
    const lines = realLines();
    fc.assert(fc.property(fc.array(mutated(fc.constantFrom(...lines)), { minLength: 1, maxLength: 10 }), (ls) => {
      compareViews(ls);
      compareReads(ls);
    }), params(7004, 1000));
  });

  it('every one-character edit of sample lines (each position deleted, or replaced by a JSON-significant character)', () => {
    const samples = [
      ...realLines().filter((_, i) => i % 640 === 0),
      ...fc.sample(tameLine, { numRuns: 3, seed: 7005 }),
      `{"flow":{"time":"2025-01-01T00:00:00Z","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":41000,"destination_port":80,"flags":{"SYN":true,"ACK":false}}},"source":{"identity":2,"labels":["reserved:world"]},"is_reply":false,"reply":true,"destination_names":["a.example.",null,3,"b"],"l7":{"dns":{"query":"q.","ips":["1.2.3.4"],"ttl":0}},"x":[true,false,null,-1.5e-3,{}]},"node_name":"n1"}`,
    ];
    let scanned = 0;
    let total = 0;
    for (const line of samples) {
      const edits: string[] = [];
      for (let i = 0; i < line.length; i++) {
        edits.push(line.slice(0, i) + line.slice(i + 1));
        for (const c of ['"', '\\', '}', ',', '0', '\u0001']) if (line[i] !== c) edits.push(line.slice(0, i) + c + line.slice(i + 1));
      }
      total += edits.length;
      scanned += compareViews(edits);
    }
    // Most edits break the line; many (inside values the source never reads) do not, and those must read the same.
    expect(scanned).toBeGreaterThan(total / 20);
  });

  it('past the scanner\'s tables: more distinct addresses, node names and endpoints than they hold', () => {
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      // 40k distinct addresses whose low 16 bits take two values (an interning table must compare them whole).
      const ip = `${10 + (i % 200)}.${Math.floor(i / 200)}.${i & 1}.1`;
      lines.push(JSON.stringify({ flow: {
        time: new Date(1_700_000_000_000 + i * 1000).toISOString(), verdict: 'FORWARDED', IP: { source: ip, destination: '10.200.0.1' },
        l4: { TCP: { source_port: 40000, destination_port: 80 } }, source: { ID: i, identity: 5000 + (i % 7), namespace: 'shop', labels: ['k8s:app=web'], pod_name: `web-${i % 9000}` },
        destination: { identity: 2, labels: ['reserved:world'] }, node_name: `node-${i % 5000}`,
      } }));
    }
    expect(compareViews(lines)).toBe(lines.length);
    const out = compareReads(lines.slice(0, 6_000));
    expect(out.counts.read).toBe(6_000);
  });

  it('cases the earlier fast path got wrong or crashed on', () => {
    const base = (extra: string) => `{"flow":{"time":"2025-01-01T00:00:00Z","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":41000,"destination_port":80}}${extra}}}`;
    const lines = [
      base(',"foo":bar'), // not JSON: was read as a record
      base(',"event_type":{"type":4x}'),
      base(',"source":"web"'), // an endpoint that is not an object: threw (WeakMap key)
      base(',"destination":7'),
      base(',"verd\\u0069ct":"DROPPED"'), // an escaped key is that key to a parser
      base(',"IP":{"source":"10.0.0.3"}'), // the last IP wins, and has no destination
      base(',"Summary":"say \\"hi\\" \\u00e9 ünï"'),
      base(',"l4":{"UDP":{"source_port":1,"destination_port":2}}'),
      base('') + ' ',
      `\t${base('')}`,
      base(',"l7":{"dns":{"query":"example.com.","ips":["1.2.3.4","",5],"ttl":30}}'),
      // Endpoint fields of the wrong type: threw (labels not an array of strings, a pod name that is not a string).
      base(',"source":{"namespace":"shop","labels":5,"pod_name":"web-7d9f8b6c5d-x2x4z"},"destination":{"namespace":"shop","labels":["k8s:app=db",7],"pod_name":42}'),
    ];
    const out = compareReads(lines);
    expect(out.counts.read).toBe(9);
    expect(out.counts.skipped).toEqual({ 'bad-json': 2, 'missing-address': 1 });
    expect(out.records.map((r) => r.protocol)).toEqual([6, 6, 6, 6, 17, 6, 6, 6, 6]);
    expect(out.records.map((r) => r.action)).toEqual(['ACCEPT', 'ACCEPT', 'REJECT', 'ACCEPT', 'ACCEPT', 'ACCEPT', 'ACCEPT', 'ACCEPT', 'ACCEPT']);
    expect(out.records.at(-1)).toMatchObject({ srcIdentity: 'shop/web[Deployment]', dstIdentity: 'labels:shop:app=db' });
    expect(out.dns).toEqual([{ ip: '1.2.3.4', name: 'example.com', first: 1735689600, last: 1735689630 }, { ip: '', name: 'example.com', first: 1735689600, last: 1735689630 }]);
  });
});
