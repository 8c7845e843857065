import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FlowStore } from '../store/backend.js';
import { SqliteStore } from '../store/sqlite.js';
import { allAggregates } from './helpers/store.js';
import { ingestPaths } from '../ui/ingest.js';
import { formatIssue } from '../model/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'ui', 'cli', 'main.js');
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const rec = (i: number) => `2 123456789012 eni-0a1 10.0.1.${i % 250 + 1} 10.0.2.9 ${40000 + i} 443 6 10 840 ${1762000000 + i} ${1762000060 + i} ACCEPT OK`;
const lines = (n: number) => Array.from({ length: n }, (_, i) => rec(i)).join('\n') + '\n';

let dir: string;
beforeAll(async () => { dir = mkdtempSync(join(tmpdir(), 'segmap-ingest-')); });

function cli(db: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, '--db', db, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('ingest: bad input is located, counted, and never loses what came before', () => {
  it('a truncated gzip keeps the records before the cut and names the byte offset', async () => {
    const gz = gzipSync(HEADER + '\n' + lines(20000));
    const path = join(dir, 'cut.log.gz');
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const store = SqliteStore.open(join(dir, 'cut.db'));
    const [r] = await ingestPaths(store, [path]);
    expect(r.status).toBe('partial');
    expect(r.counts.read).toBeGreaterThan(1000);
    expect(r.counts.read).toBeLessThan(20000);
    const issue = r.issues.find((i) => i.reason === 'truncated-gzip');
    expect(issue?.offset).toBeGreaterThan(0);
    expect(formatIssue(issue!)).toMatch(/cut\.log\.gz.*truncated-gzip/);
    expect((await store.counts()).flows).toBe(r.counts.read);
    await store.close();
  });

  it('garbage lines are skipped with file:line reasons while good lines land', async () => {
    const path = join(dir, 'garbage.log');
    writeFileSync(path, [HEADER, rec(1), 'this is not a flow record', rec(2), '2 x eni-1 10.0.0.1 10.0.0.2 1 2 6 not-a-number 1 1 2 ACCEPT OK', rec(3)].join('\n'));
    const store = SqliteStore.open(join(dir, 'garbage.db'));
    const [r] = await ingestPaths(store, [path]);
    expect(r.counts.read).toBe(3);
    expect(r.issues.map((i) => i.line)).toEqual([3, 5]);
    expect(Object.values(r.counts.skipped).reduce((a, b) => a + b, 0)).toBe(2);
    await store.close();
  });

  it('a header naming unknown fields is reported at line 1 and the known fields are still read', async () => {
    const path = join(dir, 'unknown-field.log');
    writeFileSync(path, [`${HEADER} frobnicate`, `${rec(1)} 7`, `${rec(2)} 8`].join('\n'));
    const store = SqliteStore.open(join(dir, 'unknown.db'));
    const [r] = await ingestPaths(store, [path]);
    expect(r.issues[0]).toMatchObject({ line: 1, reason: 'unknown-field' });
    expect(r.issues[0].detail).toContain('frobnicate');
    expect(r.counts.read).toBe(2);
    await store.close();
  });

  it('a YAML syntax error names its line; the valid documents of the file are kept', async () => {
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Namespace', 'metadata:', '  name: ok', '---',
      'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: [unclosed', '  namespace: x',
    ].join('\n'));
    const store = SqliteStore.open(join(dir, 'yaml.db'));
    const [r] = await ingestPaths(store, [path]);
    expect(r.issues[0].reason).toBe('yaml-syntax');
    expect(r.issues[0].line).toBeGreaterThanOrEqual(6);
    expect((await store.counts()).objects).toBe(1);
    await store.close();
  });

  it('exits non-zero only when nothing usable was read, and re-ingest changes no count', async () => {
    const bad = join(dir, 'only-garbage.log');
    writeFileSync(bad, `${HEADER}\nnope\nnope again\n`);
    const good = join(dir, 'good.log.gz');
    writeFileSync(good, gzipSync(`${HEADER}\n${lines(500)}`));
    const db = join(dir, 'exit.db');
    const r1 = cli(db, 'ingest', bad);
    expect(r1.code).toBe(1);
    expect(r1.err).toMatch(/only-garbage\.log:2: /);
    expect(cli(db, 'ingest', bad, good).code).toBe(0);
    const before = SqliteStore.open(db); const c1 = await before.counts(); await before.close();
    const again = cli(db, 'ingest', good, bad);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/unchanged .*good\.log\.gz/);
    const after = SqliteStore.open(db); const c2 = await after.counts(); await after.close();
    expect(c2).toEqual(c1);
    expect(c1.flows).toBe(500);
  });

  it('usage errors exit 2; a missing path exits 1 with its name', async () => {
    const db = join(dir, 'usage.db');
    expect(cli(db, 'graph', '--format', 'yaml').code).toBe(2);
    expect(cli(db, 'no-such-command').code).toBe(2);
    const missing = cli(db, 'ingest', join(dir, 'does-not-exist.log'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('does-not-exist.log');
  });
});

describe('ingest: parsing in a worker thread (large files) gives what parsing in-thread gives', () => {
  it('same aggregates, same counts, same issues; a re-ingest stops the worker and changes nothing', async () => {
    const path = join(dir, 'worker.log.gz');
    writeFileSync(path, gzipSync(`${HEADER}\n${lines(3000)}garbage line\n${lines(10)}`));
    const inThread = SqliteStore.open(join(dir, 'in-thread.db'));
    const inWorker = SqliteStore.open(join(dir, 'in-worker.db'));
    const [a] = await ingestPaths(inThread, [path]);
    const [b] = await ingestPaths(inWorker, [path], { parallelMinBytes: 0 });
    expect(b.status).toBe('ingested');
    expect({ ...b, seconds: 0 }).toEqual({ ...a, seconds: 0 });
    expect(await allAggregates(inWorker)).toEqual(await allAggregates(inThread));
    expect((await inWorker.inputs())[0].sha256).toBe((await inThread.inputs())[0].sha256);
    const [again] = await ingestPaths(inWorker, [path], { parallelMinBytes: 0 });
    expect(again.status).toBe('unchanged');
    expect(await inWorker.counts()).toEqual(await inThread.counts());
    await inThread.close();
    await inWorker.close();
  });

  it('a truncated gzip read in a worker is kept as partial, located by byte offset', async () => {
    const gz = gzipSync(HEADER + '\n' + lines(20000));
    const path = join(dir, 'cut-worker.log.gz');
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
    const store = SqliteStore.open(join(dir, 'cut-worker.db'));
    const [r] = await ingestPaths(store, [path], { parallelMinBytes: 0 });
    expect(r.status).toBe('partial');
    expect(r.issues.find((i) => i.reason === 'truncated-gzip')?.offset).toBeGreaterThan(0);
    expect((await store.counts()).flows).toBe(r.counts.read);
    await store.close();
  });
});

describe('ingest: a store that fails mid-input', () => {
  /** The real store, except that every batch write fails, as a full disk or a lost ClickHouse connection would. */
  function failingWrites(store: SqliteStore): FlowStore {
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'beginInput') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<FlowStore['beginInput']>) => {
          const sink = await target.beginInput(...args);
          return new Proxy(sink, {
            get: (t, p, r) => (p === 'addBatch' ? async () => { throw new Error('disk full'); } : Reflect.get(t, p, r)),
          });
        };
      },
    }) as unknown as FlowStore;
  }

  for (const [where, parallelMinBytes] of [['in a worker', 0], ['in-thread', Number.MAX_SAFE_INTEGER]] as const) {
    it(`parsing ${where}: the input fails with the store's reason, nothing of it is kept, and a retry ingests it`, async () => {
      const path = join(dir, `store-fails-${parallelMinBytes}.log`);
      writeFileSync(path, `${HEADER}\n${lines(2000)}`);
      const store = SqliteStore.open(join(dir, `store-fails-${parallelMinBytes}.db`));
      const [r] = await ingestPaths(failingWrites(store), [path], { parallelMinBytes });
      expect(r.status).toBe('failed');
      expect(r.error).toContain('disk full');
      expect(await store.counts()).toMatchObject({ inputs: 0, aggregates: 0 });
      const [retry] = await ingestPaths(store, [path], { parallelMinBytes });
      expect(retry.status).toBe('ingested');
      expect((await store.counts()).flows).toBe(retry.counts.read);
      await store.close();
    });
  }
});

describe('store: transactions and migrations', () => {
  it('an input rolled back mid-write leaves no trace, and earlier inputs stay', async () => {
    const store = SqliteStore.open(join(dir, 'tx.db'));
    const agg = { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 80, protocol: 6, bucket: 0, action: 'ACCEPT' as const,
      flows: 2, packets: 2, bytes: 2, tcpFlags: 0, firstSeen: 0, lastSeen: 60, observer: 'eni-1' };
    const w1 = await store.beginInput('a.log', 'sha-a', 'aws-vpc');
    await w1.addAggregates([agg]);
    await w1.commit({ read: 2, skipped: {} }, [], true);
    const w2 = await store.beginInput('b.log', 'sha-b', 'aws-vpc');
    await w2.addAggregates(Array(1200).fill(agg));
    await w2.rollback();
    expect(await store.counts()).toMatchObject({ inputs: 1, aggregates: 1, flows: 2 });
    expect(await store.findInput('sha-b')).toBeUndefined();
    await store.close();
    // Reopening runs no migration twice and keeps the data.
    const again = SqliteStore.open(join(dir, 'tx.db'));
    expect(await again.counts()).toMatchObject({ inputs: 1, flows: 2 });
    expect(again.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await again.close();
  });

  it('a flow seen at both ENIs counts once; different flows add up', async () => {
    const store = SqliteStore.open(join(dir, 'dedupe.db'));
    const base = { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 80, protocol: 6, bucket: 0, action: 'ACCEPT' as const,
      flows: 5, packets: 50, bytes: 500, tcpFlags: 2, firstSeen: 10, lastSeen: 70 };
    const w = await store.beginInput('x', 'sha-x', 'aws-vpc');
    await w.addAggregates([{ ...base, observer: 'eni-src' }, { ...base, observer: 'eni-dst', tcpFlags: 16 }, { ...base, observer: 'eni-src', flows: 1, bytes: 100 }]);
    await w.commit({ read: 11, skipped: {} }, [], true);
    const rows = await allAggregates(store);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ flows: 6, bytes: 600, tcpFlags: 18, firstSeen: 10, lastSeen: 70, inputIds: [1] });
    expect(await allAggregates(store, { since: 100 })).toHaveLength(0);
    await store.close();
  });
});
