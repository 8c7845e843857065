/**
 * The Online Boutique scenario through the real CLI into SQLite and into ClickHouse (the run's private server, see
 * test/helpers/clickhouse-global-setup.ts): `graph --format json` must be byte-identical — ingested by one process,
 * by two processes at once (one shard each, or both racing on all of it), and again after a re-ingest.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandPaths } from '../ui/ingest.js';
import { clickhouseMissing, clickhouseUrl, freshDatabase } from './helpers/clickhouse.js';
import { CLI, cli, ROOT, tempDb } from './helpers/scenario.js';

const INPUT = join(ROOT, 'fixtures', 'online-boutique', 'input');
const missing = clickhouseMissing();
const LONG = 300_000;

/** The CLI as a child process that runs beside others. */
function cliAsync(db: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--db', db, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function ok(r: { code: number | null; out: string; err: string }): string {
  if (r.code !== 0) throw new Error(`segmap exited ${r.code}: ${r.err.slice(-2000)}`);
  return r.out;
}

const graphJson = (db: string) => ok(cli(db, 'graph', '--format', 'json'));
const ingestSummary = (out: string) => /ingested (\d+) of (\d+) files \((\d+) unchanged/.exec(out);

describe.skipIf(missing !== '')(`scenario: Online Boutique on ClickHouse equals SQLite${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  let sqliteGraph: string;
  let files: string[];

  beforeAll(async () => {
    const db = tempDb('boutique-sqlite');
    ok(cli(db, 'ingest', INPUT));
    sqliteGraph = graphJson(db);
    files = await expandPaths([INPUT]);
  }, LONG);

  it('one process: graph --format json is byte-identical; a re-ingest changes nothing', async () => {
    const db = `${clickhouseUrl()}/${freshDatabase('boutique')}`;
    const first = ok(await cliAsync(db, 'ingest', INPUT));
    expect(ingestSummary(first)?.slice(1, 4)).toEqual([String(files.length), String(files.length), '0']);
    const graph = graphJson(db);
    expect(JSON.parse(graph).edges.length).toBeGreaterThan(30);
    expect(graph).toBe(sqliteGraph);
    const again = ok(await cliAsync(db, 'ingest', INPUT));
    expect(ingestSummary(again)?.[3]).toBe(String(files.length));
    expect(graphJson(db)).toBe(sqliteGraph);
  }, LONG);

  it('two processes at once, one shard each: the same graph; re-ingesting the shards crosswise changes nothing', async () => {
    const db = `${clickhouseUrl()}/${freshDatabase('boutique2')}`;
    // Create the schema first, or both processes race on it (which is allowed, but not what this case is about).
    ok(cli(db, 'graph', '--format', 'json'));
    const shards = [files.filter((_, i) => i % 2 === 0), files.filter((_, i) => i % 2 === 1)];
    const runs = await Promise.all(shards.map((s) => cliAsync(db, 'ingest', ...s)));
    runs.forEach(ok);
    expect(graphJson(db)).toBe(sqliteGraph);
    const again = await Promise.all([cliAsync(db, 'ingest', ...shards[1]), cliAsync(db, 'ingest', ...shards[0])]);
    expect(again.map((r) => ingestSummary(ok(r))?.[3])).toEqual([String(shards[1].length), String(shards[0].length)]);
    expect(graphJson(db)).toBe(sqliteGraph);
  }, LONG);

  it('two processes racing on the same inputs into a fresh database: one copy counts', async () => {
    const db = `${clickhouseUrl()}/${freshDatabase('boutique3')}`;
    const runs = await Promise.all([cliAsync(db, 'ingest', INPUT), cliAsync(db, 'ingest', ...[...files].reverse())]);
    runs.forEach(ok);
    expect(graphJson(db)).toBe(sqliteGraph);
  }, LONG);

  it('findings --format json agree too', async () => {
    const sqlite = tempDb('boutique-findings');
    ok(cli(sqlite, 'ingest', INPUT));
    const db = `${clickhouseUrl()}/${freshDatabase('boutique4')}`;
    ok(await cliAsync(db, 'ingest', INPUT));
    expect(ok(cli(db, 'findings', '--format', 'json'))).toBe(ok(cli(sqlite, 'findings', '--format', 'json')));
  }, LONG);
});

/**
 * The README's multi-node layout, on two private servers: local tables on each shard, Distributed tables in front of
 * them (flow aggregates sharded by the conversation), `--db` pointed at the Distributed ones. Two ingest processes at
 * once must still give SQLite's graph, byte for byte.
 */
describe.skipIf(missing !== '')(`ClickHouse: the Distributed layout over two shards${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  it('gives the same graph as SQLite', async () => {
    const { findClickHouseServer, startClickHouseServer } = await import('./helpers/clickhouse-server.js');
    const { ClickHouseStore } = await import('../store/clickhouse.js');
    const shardB = await startClickHouseServer(findClickHouseServer());
    const shardA = await startClickHouseServer(findClickHouseServer(), {
      extraConfig: ({ tcpPort }) => `<remote_servers><estate>
        <shard><replica><host>127.0.0.1</host><port>${tcpPort}</port></replica></shard>
        <shard><replica><host>127.0.0.1</host><port>${shardB.tcpPort}</port></replica></shard>
      </estate></remote_servers>`,
    });
    try {
      for (const s of [shardA, shardB]) await (await ClickHouseStore.open(`${s.url}/segmap_local`)).close();
      const admin = await ClickHouseStore.open(`${shardA.url}/segmap_admin`);
      const sharding: Record<string, string> = {
        schema_version: 'rand()', inputs: 'cityHash64(id)', flow_aggregates: 'cityHash64(src_ip, dst_ip)', flow_staging: 'cityHash64(src_ip, dst_ip)',
        snapshots: 'cityHash64(input_id)', k8s_objects: 'cityHash64(input_id)', dns_names: 'cityHash64(ip)', audit_aggregates: 'cityHash64(input_id)',
      };
      await admin.command('CREATE DATABASE IF NOT EXISTS segmap');
      for (const [t, key] of Object.entries(sharding)) {
        await admin.command(`CREATE TABLE segmap.${t} AS segmap_local.${t} ENGINE = Distributed(estate, segmap_local, ${t}, ${key})`);
      }
      await admin.close();
      const db = `${shardA.url}/segmap`;
      const files = await expandPaths([INPUT]);
      const runs = await Promise.all([0, 1].map((k) => cliAsync(db, 'ingest', ...files.filter((_, i) => i % 2 === k))));
      runs.forEach(ok);
      const sqlite = tempDb('boutique-distributed');
      ok(cli(sqlite, 'ingest', INPUT));
      expect(graphJson(db)).toBe(graphJson(sqlite));
      // Both shards hold flow rows: the layout really is spread.
      for (const s of [shardA, shardB]) {
        const local = await ClickHouseStore.open(`${s.url}/segmap_local`);
        const [[n]] = await local.rows('SELECT count() FROM {db}.flow_aggregates');
        expect(Number(n)).toBeGreaterThan(0);
        await local.close();
      }
    } finally {
      await shardA.stop();
      await shardB.stop();
    }
  }, LONG);
});

describe.skipIf(missing !== '')(`ClickHouse: the staging table takes plain values${missing ? ` [skipped: ${missing}]` : ''}`, () => {
  it('rows inserted as values through flow_staging read the same as rows ingest wrote as states', async () => {
    const { ClickHouseStore } = await import('../store/clickhouse.js');
    const { batchFromAggregates } = await import('../model/index.js');
    const rows = [
      { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 443, protocol: 6, bucket: 1_762_000_000, action: 'ACCEPT' as const, flows: 3, packets: 30, bytes: 3000, tcpFlags: 18, firstSeen: 1_762_000_010, lastSeen: 1_762_000_200, observer: 'eni-a' },
      { srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 0, dstPort: 443, protocol: 6, bucket: 1_762_000_000, action: 'ACCEPT' as const, flows: 2, packets: 5, bytes: 10.5, tcpFlags: 1, firstSeen: 1_762_000_005, lastSeen: 1_762_000_100, observer: 'eni-a' },
      { srcIp: 'fd00::9', dstIp: '8.8.8.8', srcPort: 53000, dstPort: 53, protocol: 17, bucket: 1_762_000_300, action: 'REJECT' as const, flows: 1, packets: 1, bytes: 80, tcpFlags: 0, firstSeen: 1_762_000_301, lastSeen: 1_762_000_301, observer: 'node-1', srcIdentity: 'shop/a[Deployment]' },
    ];
    const read = async (viaStaging: boolean) => {
      const store = await ClickHouseStore.open(`${clickhouseUrl()}/${freshDatabase('staging')}`);
      try {
        const w = await store.beginInput('x.log', 'f'.repeat(64), 'aws-vpc');
        if (!viaStaging) await w.addBatch(batchFromAggregates(rows));
        else {
          const { sqlString } = await import('../store/clickhouse.js');
          for (const r of rows) {
            await store.command(`INSERT INTO {db}.flow_staging SELECT toUInt64(${w.inputId}), ${sqlString(r.observer)}, ${sqlString(r.srcIp)}, ${sqlString(r.dstIp)},
              toUInt16(${r.srcPort}), toUInt16(${r.dstPort}), toUInt8(${r.protocol}), toFloat64(${r.bucket}), toUInt8(${r.action === 'ACCEPT' ? 1 : 0}),
              ${sqlString(r.srcIdentity ?? '')}, '', toFloat64(${r.flows}), toFloat64(${r.packets}), toFloat64(${r.bytes}), toUInt16(${r.tcpFlags}),
              toFloat64(${r.firstSeen}), toFloat64(${r.lastSeen})`);
          }
        }
        await w.commit({ read: 3, skipped: {} }, [], true);
        const out = [];
        for await (const c of store.aggregates()) out.push(...c.map(({ inputIds, ...a }) => ({ ...a, inputs: inputIds.length })));
        return { out, counts: await store.counts() };
      } finally {
        await store.close();
      }
    };
    const direct = await read(false);
    expect(direct.out).toHaveLength(2);
    expect(direct.out[0]).toMatchObject({ flows: 5, packets: 35, bytes: 3010.5, tcpFlags: 19, firstSeen: 1_762_000_005, lastSeen: 1_762_000_200 });
    expect(await read(true)).toEqual(direct);
  }, LONG);
});
