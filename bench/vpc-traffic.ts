import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Prng, VpcLogWriter, type VpcField, type VpcRecord } from './fixtures-adapter.js';

/**
 * Synthetic AWS VPC flow logs shaped like an EKS cluster's (VPC CNI: pod IPs are secondary IPs on node ENIs).
 *
 * - a few hundred pod IPs spread over nodes in three AZ subnets; a few dozen Services on well-known server ports,
 *   each backed by a handful of pods; every pod is a client of a few Services plus CoreDNS;
 * - clients keep small pools of long-lived connections (ephemeral source ports 32768–60999, recycled now and
 *   then) and open short ones; each 60-s window of a connection is one record per direction per observing ENI:
 *   the request, the reply, and — when the peers are on different nodes — the same two again at the other ENI
 *   (the both-ENI duplicates the store de-duplicates). Same-node traffic is not logged at all, as in real VPC logs;
 * - ~10% of records have an external peer (HTTPS and friends to public addresses, one ENI only);
 * - a trickle of security-group REJECTs and NODATA lines;
 * - time advances in 60-s windows at a fixed record rate, so a bigger file covers more hours, not a busier minute.
 *
 * Deterministic: the same parameters give byte-identical files, which is what lets the harness reuse them.
 */

/** Bump when the traffic model changes, so cached files are regenerated. */
export const TRAFFIC_MODEL_VERSION = 1;

/** S3 delivery with a v5 custom format (what an EKS team typically turns on to see pod addresses and direction). */
export const BENCH_FIELDS: readonly VpcField[] = [
  'version', 'account-id', 'vpc-id', 'subnet-id', 'instance-id', 'interface-id', 'type', 'srcaddr', 'dstaddr',
  'srcport', 'dstport', 'pkt-srcaddr', 'pkt-dstaddr', 'protocol', 'packets', 'bytes', 'start', 'end', 'action',
  'tcp-flags', 'log-status', 'az-id', 'flow-direction', 'traffic-path',
];

export interface TrafficParams {
  records: number;
  seed: string;
  pods: number;
  nodes: number;
  services: number;
  /** Lines per 60-s window across the whole estate. */
  recordsPerWindow: number;
  /** Epoch seconds of the first window. */
  startEpoch: number;
}

export function defaultTrafficParams(records: number): TrafficParams {
  return { records, seed: 'segmap-bench', pods: 320, nodes: 24, services: 36, recordsPerWindow: 10_000, startEpoch: 1_735_689_600 };
}

export interface TrafficStats {
  lines: number;
  flowRecords: number;
  nodata: number;
  rejects: number;
  externalRecords: number;
  windows: number;
  hours: number;
  bytes: number;
  seconds: number;
}

interface Node { eni: string; instance: string; subnet: string; az: string }
interface Pod { ip: string; node: number }
interface Service { port: number; proto: number; backends: number[]; reqPk: number; respPk: number }
/** One long-lived connection of a client's pool. */
interface Conn { backend: number; port: number }
interface Dep { svc: number; pool: Conn[] }
interface Client { pod: number; deps: Dep[]; depPick: number[]; externals: External[] }
interface External { ip: string; port: number }

const SERVER_PORTS = [
  80, 443, 8080, 8443, 9090, 50051, 5432, 3306, 6379, 27017, 9092, 2181, 11211, 9200, 5672, 8000, 3000, 8081, 9000,
  4222, 7000, 26257, 8500, 9093, 6443, 15010, 8200, 9042, 5000, 7233, 4317, 9411, 3100, 8086, 1883, 6650,
];
const EXTERNAL_PREFIXES = ['52.94', '3.5', '54.231', '140.82', '151.101', '104.16', '34.120', '13.107', '20.190', '185.199'];
const EPH_MIN = 32768;
const EPH_MAX = 60999;

class Model {
  readonly nodes: Node[] = [];
  readonly pods: Pod[] = [];
  readonly services: Service[] = [];
  readonly clients: Client[] = [];
  /** Client indices repeated by activity weight: a uniform pick is a weighted pick. */
  readonly clientPick: number[] = [];
  readonly externals: External[] = [];
  readonly dns: Service;

  constructor(p: TrafficParams, rng: Prng) {
    const azs = ['use1-az1', 'use1-az2', 'use1-az4'];
    const subnets = azs.map(() => `subnet-0${rng.hex(16)}`);
    for (let i = 0; i < p.nodes; i++) {
      const az = i % 3;
      this.nodes.push({ eni: `eni-0${rng.hex(16)}`, instance: `i-0${rng.hex(16)}`, subnet: subnets[az], az: azs[az] });
    }
    const usedIps = new Set<string>();
    for (let i = 0; i < p.pods; i++) {
      const node = rng.int(0, p.nodes - 1);
      let ip: string;
      do ip = `10.20.${(node % 3) * 64 + rng.int(0, 63)}.${rng.int(1, 254)}`; while (usedIps.has(ip));
      usedIps.add(ip);
      this.pods.push({ ip, node });
    }
    const ports = rng.shuffle(SERVER_PORTS).slice(0, p.services);
    const podOrder = rng.shuffle(this.pods.map((_, i) => i));
    let next = 0;
    // CoreDNS: two pods, UDP 53; every pod resolves names.
    this.dns = { port: 53, proto: 17, backends: [podOrder[next++], podOrder[next++]], reqPk: 1, respPk: 1 };
    for (let s = 0; s < p.services; s++) {
      const n = rng.int(2, 5);
      const backends: number[] = [];
      for (let k = 0; k < n; k++) backends.push(podOrder[next++ % podOrder.length]);
      this.services.push({ port: ports[s % ports.length], proto: 6, backends, reqPk: rng.int(2, 30), respPk: rng.int(2, 60) });
    }
    for (let i = 0; i < p.pods; i++) {
      const deps: Dep[] = [];
      const depPick: number[] = [];
      const wanted = rng.int(2, 4);
      const chosen = new Set<number>();
      while (chosen.size < wanted) chosen.add(rng.int(0, p.services - 1));
      for (const svc of [...chosen].sort((a, b) => a - b)) {
        const pool: Conn[] = [];
        const size = rng.int(1, 3);
        for (let k = 0; k < size; k++) pool.push({ backend: rng.pick(this.services[svc].backends), port: rng.int(EPH_MIN, EPH_MAX) });
        const weight = rng.int(1, 4);
        for (let w = 0; w < weight; w++) depPick.push(deps.length);
        deps.push({ svc, pool });
      }
      this.clients.push({ pod: i, deps, depPick, externals: [] });
      // Frontends and batch workers are chattier than the rest: activity weights 1–6, skewed low.
      const activity = 1 + Math.floor(rng.next() * rng.next() * 6);
      for (let w = 0; w < activity; w++) this.clientPick.push(i);
    }
    for (let i = 0; i < 60; i++) {
      const ip = `${rng.pick(EXTERNAL_PREFIXES)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
      const port = rng.chance(0.85) ? 443 : rng.pick([80, 22, 5432, 9243, 8883]);
      this.externals.push({ ip, port });
    }
    // A workload calls the same few SaaS / cloud endpoints, not the whole internet.
    for (const c of this.clients) {
      const n = rng.int(1, 3);
      for (let k = 0; k < n; k++) c.externals.push(rng.pick(this.externals));
    }
  }
}

/**
 * Write the log to `path`. No await per line: `write` only asks for a drain when the stream's buffer is full
 * (once per ~256 KiB batch at most).
 */
export async function writeTrafficLog(path: string, p: TrafficParams, onProgress?: (lines: number) => void): Promise<TrafficStats> {
  const t0 = performance.now();
  const rng = new Prng(`${p.seed}/v${TRAFFIC_MODEL_VERSION}`);
  const m = new Model(p, rng.fork('model'));
  const r = rng.fork('traffic');
  const w = new VpcLogWriter(path, { fields: BENCH_FIELDS, header: true, gzip: false });
  const account = '123456789012';
  const vpc = `vpc-0${rng.fork('vpc').hex(16)}`;
  // One record object, refilled per line: the formatter reads it synchronously.
  const rec: VpcRecord = {
    accountId: account, vpcId: vpc, type: 'IPv4', start: 0, end: 0, logStatus: 'OK', action: 'ACCEPT',
  };
  const nodata: VpcRecord = { accountId: account, vpcId: vpc, start: 0, end: 0, logStatus: 'NODATA' };
  const stats: TrafficStats = { lines: 0, flowRecords: 0, nodata: 0, rejects: 0, externalRecords: 0, windows: 0, hours: 0, bytes: 0, seconds: 0 };
  let windowStart = p.startEpoch;
  let inWindow = 0;
  let lastProgress = 0;

  const emit = (node: Node, dir: 'ingress' | 'egress', src: string, dst: string, sp: number, dp: number, proto: number,
    packets: number, bytes: number, start: number, end: number, flags: number, path: number | undefined): boolean => {
    // Exactly `records` lines: the conversation that crosses the limit is cut short.
    if (stats.lines >= p.records) return true;
    rec.interfaceId = node.eni;
    rec.instanceId = node.instance;
    rec.subnetId = node.subnet;
    rec.azId = node.az;
    rec.srcaddr = rec.pktSrcaddr = src;
    rec.dstaddr = rec.pktDstaddr = dst;
    rec.srcport = sp;
    rec.dstport = dp;
    rec.protocol = proto;
    rec.packets = packets;
    rec.bytes = bytes;
    rec.start = start;
    rec.end = end;
    rec.tcpFlags = flags;
    rec.flowDirection = dir;
    rec.trafficPath = path;
    stats.lines++;
    stats.flowRecords++;
    inWindow++;
    return w.write(rec);
  };

  /** A connection's window seen at both ends (cross-node) or not at all (same node: VPC logs never see it). */
  const conversation = (cPod: Pod, sPod: Pod, eph: number, svc: Service, reqFlags: number, respFlags: number, start: number, end: number): boolean => {
    if (cPod.node === sPod.node) return true;
    const cn = m.nodes[cPod.node];
    const sn = m.nodes[sPod.node];
    const reqPk = 1 + r.int(0, svc.reqPk);
    const respPk = 1 + r.int(0, svc.respPk);
    const reqB = reqPk * r.int(60, 900);
    const respB = respPk * r.int(60, 1400);
    let ok = emit(cn, 'egress', cPod.ip, sPod.ip, eph, svc.port, svc.proto, reqPk, reqB, start, end, reqFlags, 1);
    ok = emit(sn, 'ingress', cPod.ip, sPod.ip, eph, svc.port, svc.proto, reqPk, reqB, start, end, reqFlags, undefined) && ok;
    ok = emit(sn, 'egress', sPod.ip, cPod.ip, svc.port, eph, svc.proto, respPk, respB, start, end, respFlags, 1) && ok;
    return emit(cn, 'ingress', sPod.ip, cPod.ip, svc.port, eph, svc.proto, respPk, respB, start, end, respFlags, undefined) && ok;
  };

  while (stats.lines < p.records) {
    if (inWindow >= p.recordsPerWindow) {
      windowStart += 60;
      inWindow = 0;
      stats.windows++;
      if (r.chance(0.3)) {
        // An idle ENI (a node with nothing scheduled that minute) logs NODATA.
        nodata.interfaceId = r.pick(m.nodes).eni;
        nodata.start = windowStart;
        nodata.end = windowStart + 60;
        stats.lines++;
        stats.nodata++;
        if (!w.write(nodata)) await w.drain();
        continue;
      }
    }
    const client = m.clients[r.pick(m.clientPick)];
    const cPod = m.pods[client.pod];
    const kind = r.next();
    let ok: boolean;
    if (kind < 0.004) {
      // A port scan or a misconfigured client hitting a security group: one REJECTed SYN at the target's ENI.
      const target = m.pods[r.int(0, m.pods.length - 1)];
      const t = windowStart + r.int(0, 59);
      stats.rejects++;
      rec.action = 'REJECT';
      ok = emit(m.nodes[target.node], 'ingress', cPod.ip, target.ip, r.int(EPH_MIN, EPH_MAX), r.pick([22, 2379, 10250, 8080, 3306]), 6, 1, 60, t, t + 1, 2, undefined);
      rec.action = 'ACCEPT';
    } else if (kind < 0.18) {
      // Egress to the internet (NAT gateway keeps the pod address visible): request and reply at the pod's ENI.
      const ext = r.pick(client.externals);
      const node = m.nodes[cPod.node];
      const eph = r.int(EPH_MIN, EPH_MAX);
      const start = windowStart + r.int(0, 50);
      const end = Math.min(start + r.int(0, 30), windowStart + 60);
      const pk = r.int(3, 40);
      const fresh = r.chance(0.7);
      stats.externalRecords += 2;
      ok = emit(node, 'egress', cPod.ip, ext.ip, eph, ext.port, 6, pk, pk * r.int(80, 600), start, end, fresh ? 3 : 0, 8);
      ok = emit(node, 'ingress', ext.ip, cPod.ip, ext.port, eph, 6, pk + 2, (pk + 2) * r.int(200, 1400), start, end, fresh ? 19 : 0, undefined) && ok;
    } else if (kind < 0.3) {
      // DNS: a fresh UDP source port per lookup burst.
      const sPod = m.pods[r.pick(m.dns.backends)];
      const t = windowStart + r.int(0, 58);
      ok = conversation(cPod, sPod, r.int(EPH_MIN, EPH_MAX), m.dns, 0, 0, t, t + r.int(0, 2));
    } else {
      const dep = client.deps[r.pick(client.depPick)];
      const svc = m.services[dep.svc];
      const roll = r.next();
      if (roll < 0.6) {
        // A pooled long-lived connection's minute: no handshake flags; recycled now and then.
        const conn = r.pick(dep.pool);
        if (r.chance(0.01)) {
          conn.port = r.int(EPH_MIN, EPH_MAX);
          conn.backend = r.pick(svc.backends);
        }
        ok = conversation(cPod, m.pods[conn.backend], conn.port, svc, 0, 0, windowStart + r.int(0, 2), windowStart + 60);
      } else {
        // A short connection: SYN…FIN inside the window (the occasional RST instead).
        const start = windowStart + r.int(0, 55);
        const rst = r.chance(0.05);
        ok = conversation(cPod, m.pods[r.pick(svc.backends)], r.int(EPH_MIN, EPH_MAX), svc, rst ? 6 : 3, rst ? 4 : 19, start, start + r.int(0, 4));
      }
    }
    if (!ok) await w.drain();
    if (onProgress && stats.lines - lastProgress >= 250_000) {
      lastProgress = stats.lines;
      onProgress(stats.lines);
    }
  }
  await w.close();
  stats.windows++;
  stats.hours = (stats.windows * 60) / 3600;
  stats.bytes = statSync(path).size;
  stats.seconds = (performance.now() - t0) / 1000;
  return stats;
}

export interface CachedLog { path: string; stats: TrafficStats; reused: boolean }

/**
 * The log for these parameters, generated only when no file with the same parameters exists. Written to a temp
 * name and renamed, so an interrupted run never leaves a half file that looks reusable.
 */
export async function ensureTrafficLog(dir: string, p: TrafficParams, onProgress?: (lines: number) => void): Promise<CachedLog> {
  const path = `${dir}/vpc-${p.records}.log`;
  const metaPath = `${path}.meta.json`;
  const key = JSON.stringify({ model: TRAFFIC_MODEL_VERSION, fields: BENCH_FIELDS, params: p });
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { key: string; stats: TrafficStats };
      if (meta.key === key && statSync(path).size === meta.stats.bytes) return { path, stats: meta.stats, reused: true };
    } catch { /* unreadable meta: regenerate */ }
  }
  rmSync(metaPath, { force: true });
  const tmp = `${path}.tmp`;
  const stats = await writeTrafficLog(tmp, p, onProgress);
  // Flush the new file to disk now: otherwise its writeback (a GiB at 5M) overlaps the timed runs that follow.
  const fd = openSync(tmp, 'r+');
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
  writeFileSync(metaPath, JSON.stringify({ key, stats }, null, 2) + '\n');
  return { path, stats, reused: false };
}
