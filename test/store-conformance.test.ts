/**
 * The FlowStore contract (store/backend.ts), one suite run against every backend: SQLite, and ClickHouse on the run's
 * private server (test/helpers/clickhouse-global-setup.ts). Values are checked against what the contract says, and the
 * randomized cases against a reference fold written here, so both backends give the same values in the same order.
 * Without a ClickHouse server its cases are reported skipped, by a name that says why.
 */
import { Buffer } from 'node:buffer';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../fixtures/lib/prng.js';
import type { AuditAggregate } from '../model/audit.js';
import { batchFromAggregates, type DnsEvidence, type FlowAggregate, type K8sObject, type ObservedAggregate } from '../model/index.js';
import type { FlowStore, TimeWindow } from '../store/backend.js';
import { openStore } from '../store/open.js';
import { clickhouseMissing, clickhouseUrl, freshDatabase } from './helpers/clickhouse.js';
import { allAggregates } from './helpers/store.js';

interface Backend {
  name: string;
  /** Why the backend's cases are skipped ('' when they run). */
  skip: string;
  /** A fresh, empty store location. */
  location(): string;
  /** Several processes may write at once (SQLite serializes writers: a second `beginInput` waits for the first). */
  concurrentWriters: boolean;
}

const missing = clickhouseMissing();
const BACKENDS: Backend[] = [
  { name: 'sqlite', skip: '', concurrentWriters: false, location: () => join(mkdtempSync(join(tmpdir(), 'segmap-conformance-')), 'store.db') },
  {
    name: 'clickhouse', skip: missing, concurrentWriters: true,
    location: () => `${clickhouseUrl()}/${freshDatabase('conformance')}`,
  },
];

const T0 = 1_762_000_000;
const SHA = (n: number) => n.toString(16).padStart(64, '0');
const READ = (n: number) => ({ read: n, skipped: {} as Record<string, number> });

function agg(p: Partial<FlowAggregate> = {}): FlowAggregate {
  return {
    srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 443, protocol: 6, bucket: T0, action: 'ACCEPT',
    flows: 1, packets: 10, bytes: 1000, tcpFlags: 2, firstSeen: T0 + 5, lastSeen: T0 + 50, observer: 'eni-a', ...p,
  };
}

function pod(name: string, ip: string, extra: Record<string, unknown> = {}): K8sObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app: name } },
    spec: { containers: [{ name: 'c', image: 'x' }] }, status: { podIP: ip, phase: 'Running' }, ...extra,
  };
}

function audit(p: Partial<AuditAggregate> = {}): AuditAggregate {
  return {
    user: 'system:serviceaccount:shop:cart', verb: 'get', apiGroup: '', resource: 'configmaps', subresource: '', namespace: 'shop',
    nonResourceURL: '', outcome: 'allowed', count: 1, firstSeen: T0, lastSeen: T0 + 10, ...p,
  };
}

/** Compare like the stores sort: strings by their UTF-8 bytes, numbers by value. */
function cmp(a: string | number, b: string | number): number {
  return typeof a === 'string' ? Buffer.compare(Buffer.from(a), Buffer.from(b as string)) : a - (b as number);
}

const keyOf = (a: Omit<FlowAggregate, 'observer' | 'flows' | 'packets' | 'bytes' | 'tcpFlags' | 'firstSeen' | 'lastSeen'>) =>
  [a.srcIp, a.dstIp, a.srcPort, a.dstPort, a.protocol, a.bucket, a.action === 'ACCEPT' ? 1 : 0, a.srcIdentity ?? '', a.dstIdentity ?? ''] as const;

/**
 * The contract's fold, written out: per observer, rows in the window summed across inputs; across observers, MAX of
 * the sums; flags OR'ed, first/last widened, input ids listed; sorted by the key.
 */
function referenceFold(rows: { inputId: number; a: FlowAggregate }[], w: TimeWindow = {}): ObservedAggregate[] {
  type Acc = { key: readonly (string | number)[]; a: FlowAggregate; flows: number; packets: number; bytes: number; flags: number; first: number; last: number; ids: Set<number> };
  const perObserver = new Map<string, Acc>();
  for (const { inputId, a } of rows) {
    if (w.since !== undefined && a.lastSeen < w.since) continue;
    if (w.until !== undefined && a.firstSeen >= w.until) continue;
    const key = keyOf(a);
    const k = JSON.stringify([...key, a.observer]);
    const acc = perObserver.get(k);
    if (!acc) perObserver.set(k, { key, a, flows: a.flows, packets: a.packets, bytes: a.bytes, flags: a.tcpFlags, first: a.firstSeen, last: a.lastSeen, ids: new Set([inputId]) });
    else {
      acc.flows += a.flows; acc.packets += a.packets; acc.bytes += a.bytes; acc.flags |= a.tcpFlags;
      acc.first = Math.min(acc.first, a.firstSeen); acc.last = Math.max(acc.last, a.lastSeen); acc.ids.add(inputId);
    }
  }
  const folded = new Map<string, Acc>();
  for (const o of perObserver.values()) {
    const k = JSON.stringify(o.key);
    const acc = folded.get(k);
    if (!acc) folded.set(k, { ...o, ids: new Set(o.ids) });
    else {
      acc.flows = Math.max(acc.flows, o.flows); acc.packets = Math.max(acc.packets, o.packets); acc.bytes = Math.max(acc.bytes, o.bytes);
      acc.flags |= o.flags; acc.first = Math.min(acc.first, o.first); acc.last = Math.max(acc.last, o.last);
      for (const id of o.ids) acc.ids.add(id);
    }
  }
  return [...folded.values()]
    .sort((x, y) => {
      for (let i = 0; i < x.key.length; i++) {
        const c = cmp(x.key[i], y.key[i]);
        if (c !== 0) return c;
      }
      return 0;
    })
    .map((o) => ({
      srcIp: o.a.srcIp, dstIp: o.a.dstIp, srcPort: o.a.srcPort, dstPort: o.a.dstPort, protocol: o.a.protocol, bucket: o.a.bucket, action: o.a.action,
      flows: o.flows, packets: o.packets, bytes: o.bytes, tcpFlags: o.flags, firstSeen: o.first, lastSeen: o.last,
      inputIds: [...o.ids].sort((p, q) => p - q),
      ...(o.a.srcIdentity ? { srcIdentity: o.a.srcIdentity } : {}),
      ...(o.a.dstIdentity ? { dstIdentity: o.a.dstIdentity } : {}),
    }));
}

/** A random estate's aggregates: few distinct addresses and observers, so keys collide across observers and inputs. */
function randomAggregates(prng: Prng, n: number, opts: { identities?: boolean } = {}): FlowAggregate[] {
  const ips = ['10.0.0.9', '10.0.0.10', '10.0.1.1', '192.168.0.1', 'fd00::1', 'fd00::a', '8.8.8.8', '100.64.0.1'];
  const out: FlowAggregate[] = [];
  for (let i = 0; i < n; i++) {
    const bucket = T0 + prng.int(0, 5) * 300;
    const first = bucket + prng.int(0, 299);
    out.push({
      srcIp: ips[prng.int(0, ips.length - 1)], dstIp: ips[prng.int(0, ips.length - 1)], srcPort: prng.chance(0.5) ? 0 : prng.int(1, 65535),
      dstPort: [53, 80, 443, 8080, 5432][prng.int(0, 4)], protocol: prng.chance(0.8) ? 6 : 17, bucket, action: prng.chance(0.9) ? 'ACCEPT' : 'REJECT',
      flows: prng.int(1, 5), packets: prng.int(1, 1000), bytes: prng.int(0, 2 ** 40), tcpFlags: prng.int(0, 63), firstSeen: first,
      lastSeen: first + prng.int(0, 900), observer: ['eni-a', 'eni-b', 'node-1'][prng.int(0, 2)],
      ...(opts.identities && prng.chance(0.3) ? { srcIdentity: ['shop/cart[Deployment]', 'reserved:world', 'shop/db[StatefulSet]'][prng.int(0, 2)] } : {}),
      ...(opts.identities && prng.chance(0.3) ? { dstIdentity: 'reserved:host' } : {}),
    });
  }
  return out;
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('FlowStore conformance: %s', (_name, backend) => {
  const open: FlowStore[] = [];
  afterEach(async () => {
    while (open.length) await open.pop()!.close();
  });
  /** A fresh store, plus `reader()`: a second handle on the same location (another process, as far as the store knows). */
  async function fresh(): Promise<{ store: FlowStore; reader: () => Promise<FlowStore>; location: string }> {
    const location = backend.location();
    const store = await openStore(location);
    open.push(store);
    return {
      store, location,
      reader: async () => {
        const r = await openStore(location);
        open.push(r);
        return r;
      },
    };
  }
  /** A case of the contract; skipped (saying why, in its name) when the backend is not available. */
  const run = (name: string, fn: () => Promise<void>) => it.skipIf(backend.skip !== '')(backend.skip ? `${name} [skipped: ${backend.skip}]` : name, fn);

  run('an empty store reads as empty', async () => {
    const { store } = await fresh();
    expect(store.backend).toBe(backend.name);
    expect(await store.inputs()).toEqual([]);
    expect(await store.findInput(SHA(1))).toBeUndefined();
    expect(await store.snapshots()).toEqual([]);
    expect(await allAggregates(store)).toEqual([]);
    expect(await store.dnsNames()).toEqual([]);
    expect(await store.auditAggregates()).toEqual([]);
    expect(await store.counts()).toEqual({ inputs: 0, snapshots: 0, objects: 0, aggregates: 0, flows: 0 });
  });

  run('an input is invisible until commit, then registered with its counts and issues', async () => {
    const { store, reader } = await fresh();
    const other = await reader();
    const now = new Date('2025-11-01T12:00:00.000Z');
    const w = await store.beginInput('/logs/a.log', SHA(1), 'aws-vpc', now);
    expect(Number.isSafeInteger(w.inputId) && w.inputId > 0).toBe(true);
    await w.addAggregates([agg()]);
    await w.addSnapshot(T0, [pod('cart', '10.0.0.1')]);
    expect(await other.findInput(SHA(1))).toBeUndefined();
    expect(await other.inputs()).toEqual([]);
    expect(await allAggregates(other)).toEqual([]);
    expect(await other.snapshots()).toEqual([]);
    expect((await other.counts()).inputs).toBe(0);
    const issues = [{ file: '/logs/a.log', line: 3, reason: 'bad-field-count', detail: 'x\ty "quoted" \\ back' }];
    await w.commit({ read: 42, skipped: { 'bad-field-count': 1 } }, issues, true);
    const row = await other.findInput(SHA(1));
    expect(row).toEqual({
      id: w.inputId, path: '/logs/a.log', sha256: SHA(1), format: 'aws-vpc', ingestedAt: '2025-11-01T12:00:00.000Z',
      recordsRead: 42, skipped: { 'bad-field-count': 1 }, issues, complete: true,
    });
    expect(await other.inputs()).toEqual([row]);
    expect(await store.inputs()).toEqual([row]);
    expect((await allAggregates(other)).map((a) => a.inputIds)).toEqual([[w.inputId]]);
  });

  run('commit replaces a placeholder hash; an incomplete read is recorded as such', async () => {
    const { store } = await fresh();
    const w = await store.beginInput('big.log', 'pending:123:4.5', 'aws-vpc');
    await w.addAggregates([agg()]);
    await w.commit(READ(1), [], false, SHA(7));
    expect(await store.findInput('pending:123:4.5')).toBeUndefined();
    const row = await store.findInput(SHA(7));
    expect(row?.sha256).toBe(SHA(7));
    expect(row?.complete).toBe(false);
  });

  run('rollback leaves nothing a reader sees, and the same content can be ingested again', async () => {
    const { store, reader } = await fresh();
    const w = await store.beginInput('a.log', SHA(2), 'aws-vpc');
    await w.addAggregates([agg(), agg({ dstPort: 80 })]);
    await w.addSnapshot(T0, [pod('cart', '10.0.0.1')]);
    await w.addAuditAggregates([audit()]);
    await w.addBatch({ ...batchFromAggregates([agg({ dstPort: 53, protocol: 17 })]), dns: [{ ip: '1.2.3.4', name: 'x.example', first: T0, last: T0 + 30 }] });
    await w.rollback();
    await w.rollback(); // twice is harmless
    for (const s of [store, await reader()]) {
      expect(await s.findInput(SHA(2))).toBeUndefined();
      expect(await s.inputs()).toEqual([]);
      expect(await allAggregates(s)).toEqual([]);
      expect(await s.snapshots()).toEqual([]);
      expect(await s.dnsNames()).toEqual([]);
      expect(await s.auditAggregates()).toEqual([]);
      expect(await s.counts()).toEqual({ inputs: 0, snapshots: 0, objects: 0, aggregates: 0, flows: 0 });
    }
    const again = await store.beginInput('a.log', SHA(2), 'aws-vpc');
    await again.addAggregates([agg()]);
    await again.commit(READ(1), [], true);
    expect((await store.findInput(SHA(2)))?.id).toBe(again.inputId);
    expect((await allAggregates(store)).length).toBe(1);
  });

  it.skipIf(backend.skip !== '' || !backend.concurrentWriters)(
    `two writers committing the same content at once: the first commit counts, once${backend.skip ? ` [skipped: ${backend.skip}]` : backend.concurrentWriters ? '' : ' [skipped: SQLite serializes writers]'}`,
    async () => {
      const { store, reader } = await fresh();
      const other = await reader();
      const a = await store.beginInput('copy-1/a.log', SHA(3), 'aws-vpc');
      const b = await other.beginInput('copy-2/a.log', SHA(3), 'aws-vpc');
      expect(a.inputId).not.toBe(b.inputId);
      await a.addAggregates([agg({ flows: 5 })]);
      await b.addAggregates([agg({ flows: 5 })]);
      await a.commit(READ(5), [], true);
      await b.commit(READ(5), [], true);
      for (const s of [store, other]) {
        expect((await s.inputs()).map((i) => i.path)).toEqual(['copy-1/a.log']);
        expect((await s.findInput(SHA(3)))?.id).toBe(a.inputId);
        const aggs = await allAggregates(s);
        expect(aggs.map((x) => [x.flows, x.inputIds])).toEqual([[5, [a.inputId]]]);
        expect(await s.counts()).toMatchObject({ inputs: 1, aggregates: 1, flows: 5 });
      }
    },
  );

  run('aggregates: summed per observer across inputs, MAX across observers, flags OR, widest window, input ids', async () => {
    const { store } = await fresh();
    const w1 = await store.beginInput('h1.log', SHA(10), 'aws-vpc');
    // The same conversation logged at both ENIs; eni-a's logs split across two hourly files.
    await w1.addAggregates([
      agg({ observer: 'eni-a', flows: 2, packets: 20, bytes: 2000, tcpFlags: 2, firstSeen: T0 + 10, lastSeen: T0 + 100 }),
      agg({ observer: 'eni-b', flows: 3, packets: 25, bytes: 2500, tcpFlags: 16, firstSeen: T0 + 12, lastSeen: T0 + 120 }),
    ]);
    await w1.commit(READ(5), [], true);
    const w2 = await store.beginInput('h2.log', SHA(11), 'aws-vpc');
    await w2.addAggregates([agg({ observer: 'eni-a', flows: 2, packets: 10, bytes: 100, tcpFlags: 1, firstSeen: T0 + 200, lastSeen: T0 + 290 })]);
    await w2.commit(READ(2), [], true);
    const got = await allAggregates(store);
    expect(got).toEqual([{
      srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 443, protocol: 6, bucket: T0, action: 'ACCEPT',
      flows: 4, packets: 30, bytes: 2500, tcpFlags: 19, firstSeen: T0 + 10, lastSeen: T0 + 290,
      inputIds: [w1.inputId, w2.inputId].sort((a, b) => a - b),
    }]);
    expect(await store.counts()).toEqual({ inputs: 2, snapshots: 0, objects: 0, aggregates: 3, flows: 7 });
  });

  run('aggregates: sorted by the key (addresses as bytes), identities kept, a conversation\'s rows together', async () => {
    const { store } = await fresh();
    const w = await store.beginInput('hubble.json', SHA(12), 'hubble');
    const rows = [
      agg({ srcIp: '10.0.0.9', bucket: T0 + 300 }),
      agg({ srcIp: '10.0.0.10', dstPort: 80 }),
      agg({ srcIp: '10.0.0.9', bucket: T0 }),
      agg({ srcIp: 'fd00::1', dstIp: 'fd00::2', srcIdentity: 'shop/cart[Deployment]', dstIdentity: 'reserved:world' }),
      agg({ srcIp: '10.0.0.9', action: 'REJECT', bucket: T0 }),
      agg({ srcIp: '10.0.0.9', srcIdentity: 'shop/a[Deployment]', bucket: T0 }),
    ];
    await w.addAggregates(rows);
    await w.commit(READ(6), [], true);
    const got = await allAggregates(store);
    expect(got).toEqual(referenceFold(rows.map((a) => ({ inputId: w.inputId, a }))));
    expect(got.map((a) => `${a.srcIp} ${a.bucket - T0} ${a.action} ${a.srcIdentity ?? '-'}`)).toEqual([
      '10.0.0.10 0 ACCEPT -', '10.0.0.9 0 REJECT -', '10.0.0.9 0 ACCEPT -', '10.0.0.9 0 ACCEPT shop/a[Deployment]', '10.0.0.9 300 ACCEPT -', 'fd00::1 0 ACCEPT shop/cart[Deployment]',
    ]);
    expect(got[5]).toMatchObject({ srcIdentity: 'shop/cart[Deployment]', dstIdentity: 'reserved:world' });
    expect('srcIdentity' in got[0]).toBe(false);
  });

  run('aggregates: strings come back as written (long, non-ASCII, escapes), numbers exactly (fractions, 2^53-1)', async () => {
    const { store } = await fresh();
    const w = await store.beginInput('odd.log', SHA(14), 'hubble');
    const long = `ns-ü/${'x'.repeat(300)}[Deployment]`;
    const rows = [
      agg({ srcIp: 'a\tb\nc\\d\'e"f', observer: 'ñode 🚀', srcIdentity: long, dstIdentity: 'reserved:world' }),
      agg({ srcIp: '10.0.0.1', bucket: T0 + 0.5, firstSeen: T0 + 0.25, lastSeen: T0 + 59.75, bytes: 2 ** 53 - 1, packets: 1.5 }),
      agg({ srcIp: '10.0.0.1', srcPort: 65535, dstPort: 65535, protocol: 255, tcpFlags: 0xffff & 511 }),
    ];
    await w.addAggregates(rows);
    await w.commit(READ(3), [], true);
    expect(await allAggregates(store)).toEqual(referenceFold(rows.map((a) => ({ inputId: w.inputId, a }))));
  });

  run('aggregates: the window keeps rows that overlap [since, until)', async () => {
    const { store } = await fresh();
    const w = await store.beginInput('a.log', SHA(13), 'aws-vpc');
    const rows = [
      agg({ dstPort: 1, firstSeen: T0, lastSeen: T0 + 99 }),
      agg({ dstPort: 2, firstSeen: T0 + 50, lastSeen: T0 + 100 }),
      agg({ dstPort: 3, firstSeen: T0 + 150, lastSeen: T0 + 250 }),
      agg({ dstPort: 4, firstSeen: T0 + 200, lastSeen: T0 + 400 }),
      agg({ dstPort: 5, firstSeen: T0 + 300, lastSeen: T0 + 310 }),
      agg({ dstPort: 3, observer: 'eni-b', flows: 7, firstSeen: T0 + 290, lastSeen: T0 + 310 }),
    ];
    await w.addAggregates(rows);
    await w.commit(READ(6), [], true);
    const ports = async (win: TimeWindow) => (await allAggregates(store, win)).map((a) => [a.dstPort, a.flows]);
    expect(await ports({ since: T0 + 100, until: T0 + 300 })).toEqual([[2, 1], [3, 7], [4, 1]]);
    expect(await ports({ since: T0 + 290 })).toEqual([[3, 7], [4, 1], [5, 1]]);
    expect(await ports({ until: T0 + 50 })).toEqual([[1, 1]]);
    const ref = rows.map((a) => ({ inputId: w.inputId, a }));
    for (const win of [{}, { since: T0 + 100 }, { until: T0 + 200 }, { since: T0 + 100, until: T0 + 300 }]) {
      expect(await allAggregates(store, win)).toEqual(referenceFold(ref, win));
    }
  });

  run('aggregates: a random estate over three inputs equals the reference fold, streamed in chunks', async () => {
    const { store } = await fresh();
    if ('sliceRows' in store) (store as { sliceRows: number }).sliceRows = 700; // several read slices
    const prng = new Prng('store-conformance');
    const all: { inputId: number; a: FlowAggregate }[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await store.beginInput(`in-${i}.log`, SHA(20 + i), i === 2 ? 'hubble' : 'aws-vpc');
      for (let b = 0; b < 3; b++) {
        const rows = randomAggregates(prng, 2500, { identities: i === 2 });
        await w.addBatch(batchFromAggregates(rows));
        all.push(...rows.map((a) => ({ inputId: w.inputId, a })));
      }
      await w.commit(READ(7500), [], true);
    }
    const chunks: number[] = [];
    const got: ObservedAggregate[] = [];
    for await (const c of store.aggregates()) {
      chunks.push(c.length);
      got.push(...c);
    }
    const want = referenceFold(all);
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    if ('finalIsSorted' in store) {
      // The other read path: the server sorts (what releases from 20.x on are asked to do).
      const s = store as { finalIsSorted: boolean };
      const was = s.finalIsSorted;
      s.finalIsSorted = !was;
      expect(await allAggregates(store)).toEqual(want);
      s.finalIsSorted = was;
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.slice(0, -1).every((n) => n === chunks[0])).toBe(true);
    const c = await store.counts();
    expect(c).toMatchObject({ inputs: 3, aggregates: all.length, flows: all.reduce((s, r) => s + r.a.flows, 0) });
    // A consumer may stop early without harm.
    for await (const chunk of store.aggregates()) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect((await store.inputs()).length).toBe(3);
  });

  run('DNS names: the widest window per (address, name) across inputs, sorted by address, start, name', async () => {
    const { store } = await fresh();
    const dns = async (sha: number, evidence: DnsEvidence[]) => {
      const w = await store.beginInput(`dns-${sha}.log`, SHA(sha), 'zeek');
      await w.addBatch({ ...batchFromAggregates([]), dns: evidence });
      await w.commit(READ(evidence.length), [], true);
    };
    await dns(30, [
      { ip: '10.0.0.5', name: 'b.example', first: T0 + 100, last: T0 + 160 },
      { ip: '10.0.0.5', name: 'a.example', first: T0 + 100, last: T0 + 130 },
      { ip: '1.1.1.1', name: 'one.one', first: T0 + 10.5, last: T0 + 20.2 },
    ]);
    await dns(31, [
      { ip: '10.0.0.5', name: 'b.example', first: T0 + 50, last: T0 + 120 },
      { ip: '10.0.0.5', name: 'z.example', first: T0, last: T0 + 10 },
    ]);
    expect(await store.dnsNames()).toEqual([
      { ip: '1.1.1.1', name: 'one.one', first: T0 + 10, last: T0 + 21 },
      { ip: '10.0.0.5', name: 'z.example', first: T0, last: T0 + 10 },
      { ip: '10.0.0.5', name: 'b.example', first: T0 + 50, last: T0 + 160 },
      { ip: '10.0.0.5', name: 'a.example', first: T0 + 100, last: T0 + 130 },
    ]);
  });

  run('audit aggregates: counts added across inputs, first/last widened, window, sorted by every key', async () => {
    const { store } = await fresh();
    const w1 = await store.beginInput('audit-1.log', SHA(40), 'k8s-audit');
    await w1.addAuditAggregates([
      audit({ verb: 'list', count: 3, firstSeen: T0 + 100, lastSeen: T0 + 200 }),
      audit({ count: 2 }),
      audit({ user: 'alice', verb: 'delete', resource: 'pods', outcome: 'denied', count: 1 }),
      audit({ user: 'system:anonymous', resource: '', namespace: '', nonResourceURL: '/healthz', count: 9, firstSeen: T0 + 1000, lastSeen: T0 + 2000 }),
    ]);
    await w1.commit(READ(15), [], true);
    const w2 = await store.beginInput('audit-2.log', SHA(41), 'k8s-audit');
    await w2.addAuditAggregates([audit({ count: 5, firstSeen: T0 - 100, lastSeen: T0 + 5 })]);
    await w2.commit(READ(5), [], true);
    const all = await store.auditAggregates();
    expect(all.map((a) => [a.user, a.verb, a.resource, a.nonResourceURL, a.count, a.firstSeen - T0, a.lastSeen - T0])).toEqual([
      ['alice', 'delete', 'pods', '', 1, 0, 10],
      ['system:anonymous', 'get', '', '/healthz', 9, 1000, 2000],
      ['system:serviceaccount:shop:cart', 'get', 'configmaps', '', 7, -100, 10],
      ['system:serviceaccount:shop:cart', 'list', 'configmaps', '', 3, 100, 200],
    ]);
    expect(all[0]).toEqual(audit({ user: 'alice', verb: 'delete', resource: 'pods', outcome: 'denied', count: 1 }));
    expect((await store.auditAggregates({ since: T0 + 150, until: T0 + 1000 })).map((a) => [a.verb, a.count])).toEqual([['list', 3]]);
    expect((await store.auditAggregates({ since: T0 + 6 })).map((a) => [a.user, a.verb, a.count])).toEqual([
      ['alice', 'delete', 1], ['system:anonymous', 'get', 9], ['system:serviceaccount:shop:cart', 'get', 2], ['system:serviceaccount:shop:cart', 'list', 3],
    ]);
  });

  run('snapshots: by takenAt then write order, objects in order and intact; listings and watch events', async () => {
    const { store, reader } = await fresh();
    const other = await reader();
    const tricky = pod('weird', '10.0.0.3', { metadata: { name: 'weird', namespace: 'shop', annotations: { note: 'tab\there\nnewline \\ back \'q\' "dq" ünï 🚀' } } });
    const w = await store.beginInput('cluster-t1.json', SHA(50), 'k8s-dump');
    await w.addSnapshot(T0 + 600, [pod('b', '10.0.0.2'), pod('a', '10.0.0.1'), tricky]);
    await w.commit(READ(3), [], true);
    const w0 = await store.beginInput('cluster-t0.json', SHA(51), 'k8s-dump');
    await w0.addSnapshot(T0, [pod('a', '10.0.0.1')]);
    await w0.addSnapshot(T0, []);
    await w0.commit(READ(1), [], true);

    const c = await store.beginCollection('k8s-api:ctx', 'k8s-api', new Date('2025-11-01T00:00:00.000Z'));
    // Live: visible at once, incomplete until finished.
    expect((await other.inputs()).find((i) => i.id === c.inputId)).toMatchObject({ path: 'k8s-api:ctx', format: 'k8s-api', complete: false });
    await c.addListing(T0 + 900, ['Service', 'Pod'], [pod('a', '10.0.0.1')]);
    await c.addEvents([
      { at: T0 + 950, type: 'DELETED', object: pod('a', '10.0.0.1') },
      { at: T0 + 950, type: 'ADDED', object: pod('c', '10.0.0.1') },
    ]);
    await c.addEvents([]);
    const live = await other.snapshots();
    expect(live.map((s) => [s.takenAt - T0, s.event ?? '', s.kinds ?? null, s.objects.map((o) => o.metadata.name)])).toEqual([
      [0, '', null, ['a']],
      [0, '', null, []],
      [600, '', null, ['b', 'a', 'weird']],
      [900, '', ['Pod', 'Service'], ['a']],
      [950, 'DELETED', null, ['a']],
      [950, 'ADDED', null, ['c']],
    ]);
    expect(live[2].objects[2]).toEqual(tricky);
    expect(live.every((s) => Number.isSafeInteger(s.id))).toBe(true);
    expect(new Set(live.map((s) => s.id)).size).toBe(live.length);
    await c.finish({ read: 3, skipped: { forbidden: 1 } }, [], true);
    expect((await other.inputs()).find((i) => i.id === c.inputId)).toMatchObject({ recordsRead: 3, skipped: { forbidden: 1 }, complete: true });
    expect((await other.inputs()).map((i) => i.path)).toEqual(['cluster-t1.json', 'cluster-t0.json', 'k8s-api:ctx']);
    expect(await other.counts()).toEqual({ inputs: 3, snapshots: 6, objects: 7, aggregates: 0, flows: 0 });
  });

  run('version changes whenever anything is committed, by this handle or another; not otherwise', async () => {
    const { store, reader } = await fresh();
    const other = await reader();
    const v0 = await other.version();
    expect(await other.version()).toBe(v0);
    const w = await store.beginInput('a.log', SHA(60), 'aws-vpc');
    await w.addAggregates([agg()]);
    await w.commit(READ(1), [], true);
    const v1 = await other.version();
    expect(v1).not.toBe(v0);
    expect(await store.version()).not.toBe(v0);
    const c = await store.beginCollection('k8s-api:ctx', 'k8s-api');
    const v2 = await other.version();
    expect(v2).not.toBe(v1);
    await c.addListing(T0, ['Pod'], [pod('a', '10.0.0.1')]);
    const v3 = await other.version();
    expect(v3).not.toBe(v2);
    await c.addEvents([{ at: T0 + 1, type: 'MODIFIED', object: pod('a', '10.0.0.1') }]);
    expect(await other.version()).not.toBe(v3);
    expect(await other.version()).toBe(await other.version());
  });

  run('location names the store, never a password; a reopened store reads the same values', async () => {
    const { store, location } = await fresh();
    expect(store.location).toBe(location);
    const w = await store.beginInput('a.log', SHA(70), 'aws-vpc');
    await w.addAggregates([agg(), agg({ observer: 'eni-b', flows: 9 })]);
    await w.addSnapshot(T0, [pod('a', '10.0.0.1')]);
    await w.commit(READ(2), [], true);
    const before = { aggs: await allAggregates(store), snaps: await store.snapshots(), inputs: await store.inputs(), counts: await store.counts() };
    await store.close();
    open.splice(open.indexOf(store), 1);
    const again = await openStore(location);
    open.push(again);
    expect({ aggs: await allAggregates(again), snaps: await again.snapshots(), inputs: await again.inputs(), counts: await again.counts() }).toEqual(before);
    if (backend.name === 'clickhouse') {
      const withPassword = location.replace('clickhouse://', 'clickhouse://default:s3cret@');
      await expect(openStore(withPassword)).rejects.toThrow(/ClickHouse at 127\.0\.0\.1:\d+/);
      await openStore(withPassword).catch((e: Error) => {
        expect(`${e.message} ${String((e.cause as Error | undefined)?.message)}`).not.toContain('s3cret');
      });
    }
  });

  run('readonly: refuses a location that holds no store, reads one that does', async () => {
    const location = backend.location();
    await expect(openStore(location, { readonly: true })).rejects.toThrow(/cannot open database|no segmap data/);
    const store = await openStore(location);
    open.push(store);
    const w = await store.beginInput('a.log', SHA(80), 'aws-vpc');
    await w.addAggregates([agg()]);
    await w.commit(READ(1), [], true);
    const ro = await openStore(location, { readonly: true });
    open.push(ro);
    expect((await ro.inputs()).map((i) => i.path)).toEqual(['a.log']);
    expect(await allAggregates(ro)).toEqual(await allAggregates(store));
  });

  run('an unreachable server or a bad location is a clear error', async () => {
    if (backend.name === 'clickhouse') {
      await expect(openStore('clickhouse://user:hunter2@127.0.0.1:1/db')).rejects.toThrow(/^cannot reach ClickHouse at 127\.0\.0\.1:1: /);
      await openStore('clickhouse://user:hunter2@127.0.0.1:1/db').catch((e: Error) => expect(e.message).not.toContain('hunter2'));
      await expect(openStore('clickhouse://127.0.0.1:1/')).rejects.toThrow(/database name/);
    } else {
      await expect(openStore(join(mkdtempSync(join(tmpdir(), 'segmap-conformance-')), 'no', 'such', 'dir.db'))).rejects.toThrow(/cannot open database/);
    }
  });
});

/** Keep the ordering helper honest: byte order is what both backends sort strings by. */
describe('store conformance helpers', () => {
  it('compares strings by UTF-8 bytes', () => {
    expect(cmp('10.0.0.10', '10.0.0.9')).toBeLessThan(0);
    expect(cmp('Z', 'a')).toBeLessThan(0);
    expect(cmp('\uffff', '\u{1F680}')).toBeLessThan(0);
  });
  it('folds like the contract', () => {
    const rows = [
      { inputId: 2, a: agg({ observer: 'x', flows: 2 }) }, { inputId: 1, a: agg({ observer: 'x', flows: 1 }) }, { inputId: 3, a: agg({ observer: 'y', flows: 2 }) },
    ];
    expect(referenceFold(rows)).toMatchObject([{ flows: 3, inputIds: [1, 2, 3] }]);
  });
});
