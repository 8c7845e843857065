/**
 * Parse throughput per flow format on generated inputs, one core, records straight into the aggregator (what ingest
 * does per file). Targets: Hubble JSON ≥ 150k records/s, pcap ≥ 300k packets/s. GCP (NDJSON LogEntry) and Azure
 * (VNet v4 blobs, pretty-printed as the storage account keeps them) are measured without a target. Hubble is measured
 * on generated lines shaped like the real fixture's (L7 included), and on the real fixture itself when it is there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowAggregator } from '../collector/aggregate.js';
import { azureFlow } from '../collector/azure-flow.js';
import { gcpVpc } from '../collector/gcp-vpc.js';
import { hubble } from '../collector/hubble.js';
import { pcap } from '../collector/pcap.js';
import { newReadContext } from '../collector/source.js';
import { zeek } from '../collector/zeek.js';

/** A small deterministic generator (the bench's inputs are the same on every run). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/**
 * Hubble exporter lines shaped like real ones (`../shared/fixtures/cilium-hubble-otel-flows`: Istio Bookinfo on GKE,
 * ~1.4 KB a line): the `{"flow":…}` envelope; endpoints with Cilium's label sets and pod names, some known by labels
 * only, reserved ones (world, host); requests and replies (`is_reply`, and `reply` on L7); FORWARDED and REDIRECTED
 * (to the proxy); L7 HTTP with headers, L7 DNS with answers and escaped quotes in the Summary; UDP DNS; egress with
 * `destination_names`; a few drops with their reason. Each kind in about the share the real files have.
 */
export function hubbleLines(n: number): string[] {
  const rnd = lcg(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const nodes = ['gke-prod-pool-1-dac8cc20-hr0z', 'gke-prod-pool-1-dac8cc20-5236', 'gke-prod-pool-2-71b3e0aa-k2vd', 'gke-prod-pool-2-71b3e0aa-9qx1'];
  const namespaces = ['bookinfo', 'shop', 'istio-system'];
  interface Pod { ip: string; ep: Record<string, unknown>; app: string; ns: string; port: number }
  const pods: Pod[] = [];
  for (let w = 0; w < 40; w++) {
    const ns = namespaces[w % 3];
    const app = `svc${w}`;
    const hash = `${'bcdfghjklm'[w % 10]}${'245678'[w % 6]}d9f8b6c`;
    for (let r = 0; r < 1 + (w % 3); r++) {
      const labels = [`k8s:app=${app}`, `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${ns}`, 'k8s:io.cilium.k8s.policy.cluster=default',
        `k8s:io.cilium.k8s.policy.serviceaccount=${ns}-${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`, 'k8s:security.istio.io/tlsMode=istio', `k8s:version=v${1 + (r % 2)}`];
      const ep: Record<string, unknown> = { ...(r % 3 !== 2 ? { ID: 100 + w * 3 + r } : {}), identity: 3000 + w * 2 + (r % 2), namespace: ns, labels };
      // Now and then Hubble knows an endpoint by its labels only (no pod name): attribution waits for the identity.
      if ((w + r) % 11 !== 5) ep.pod_name = `${app}-v${1 + (r % 2)}-${hash}-xz2k${'bcdfg'[r]}`;
      pods.push({ ip: `10.156.${w % 4}.${10 + w * 3 + r}`, ep, app, ns, port: 9080 + (w % 5) });
    }
  }
  const dns: Pod = { ip: '10.156.2.3', app: 'kube-dns', ns: 'kube-system', port: 53,
    ep: { ID: 415, identity: 796, namespace: 'kube-system', labels: ['k8s:io.cilium.k8s.policy.cluster=default', 'k8s:io.cilium.k8s.policy.serviceaccount=kube-dns',
      'k8s:io.kubernetes.pod.namespace=kube-system', 'k8s:k8s-app=kube-dns'], pod_name: 'kube-dns-b4f5c58c7-vnx5s' } };
  const world = { identity: 2, labels: ['reserved:world'] };
  const host = { identity: 1, labels: ['reserved:host'] };
  const flagSets = [{ SYN: true }, { SYN: true, ACK: true }, { ACK: true }, { PSH: true, ACK: true }, { PSH: true, ACK: true }, { FIN: true, ACK: true }];
  const out: string[] = [];
  let ms = Date.UTC(2025, 0, 1, 8);
  for (let i = 0; i < n; i++) {
    ms += Math.floor(rnd() * 6);
    const time = new Date(ms).toISOString().replace('Z', '417Z');
    const node = pick(nodes);
    const a = pick(pods);
    let b = pick(pods);
    if (b === a) b = pods[(pods.indexOf(a) + 1) % pods.length];
    const k = rnd();
    const reply = rnd() < 0.5;
    const cport = 32768 + Math.floor(rnd() * 28000);
    let flow: Record<string, unknown>;
    const l4 = (proto: 'TCP' | 'UDP', client: number, server: number, flags?: object) =>
      ({ [proto]: { source_port: reply ? server : client, destination_port: reply ? client : server, ...(flags ? { flags } : {}) } });
    const ends = (src: Pod, dst: Pod | { ip: string; ep: object }) => (reply
      ? { IP: { source: dst.ip, destination: src.ip, ipVersion: 'IPv4' }, source: dst.ep, destination: src.ep }
      : { IP: { source: src.ip, destination: dst.ip, ipVersion: 'IPv4' }, source: src.ep, destination: dst.ep });
    const ethernet = { source: '42:79:62:c8:ed:64', destination: '5e:d6:62:a5:91:50' };
    if (k < 0.4) {
      const flags = pick(flagSets);
      flow = { time, verdict: 'FORWARDED', ethernet, ...ends(a, b), l4: l4('TCP', cport, b.port, flags), Type: 'L3_L4', node_name: node,
        event_type: { type: 4, sub_type: 3 }, traffic_direction: reply ? 'INGRESS' : 'EGRESS', trace_observation_point: 'TO_ENDPOINT', is_reply: reply,
        Summary: `TCP Flags: ${Object.keys(flags).join(', ')}` };
    } else if (k < 0.5) {
      flow = { time, verdict: 'REDIRECTED', ethernet, ...ends(a, b), l4: l4('TCP', cport, b.port, { ACK: true }), Type: 'L3_L4', node_name: node,
        event_type: { type: 4, sub_type: 3 }, traffic_direction: 'EGRESS', trace_observation_point: 'TO_PROXY', is_reply: reply, policy_match_type: 1, Summary: 'TCP Flags: ACK' };
    } else if (k < 0.58) {
      flow = { time, verdict: 'FORWARDED', ethernet, ...ends(a, dns), l4: l4('UDP', cport, 53), Type: 'L3_L4', node_name: node, event_type: { type: 4, sub_type: 3 },
        traffic_direction: 'EGRESS', trace_observation_point: 'TO_STACK', is_reply: reply, Summary: 'UDP' };
    } else if (k < 0.72) {
      const query = `${b.app}.${b.ns}.svc.cluster.local.`;
      flow = { time, verdict: 'FORWARDED', ...ends(a, dns), l4: l4('UDP', cport, 53), Type: 'L7', node_name: node,
        l7: reply ? { type: 'RESPONSE', dns: { query, ips: [b.ip], ttl: 30, observation_source: 'proxy', qtypes: ['A'], rrtypes: ['A'] } }
          : { type: 'REQUEST', dns: { query, observation_source: 'proxy', qtypes: ['A'] } },
        reply, event_type: { type: 129 }, traffic_direction: 'EGRESS', is_reply: reply,
        Summary: reply ? `DNS Answer "${b.ip}" TTL: 30 (Proxy ${query} A)` : `DNS Query ${query} A` };
    } else if (k < 0.93) {
      const url = `http://${b.app}:${b.port}/api/v1/items?id=${i % 1000}`;
      flow = { time, verdict: 'FORWARDED', ...ends(a, b), l4: l4('TCP', cport, b.port), Type: 'L7', node_name: node,
        l7: { type: reply ? 'RESPONSE' : 'REQUEST', ...(reply ? { latency_ns: 1_000_000 + Math.floor(rnd() * 9e6) } : {}),
          http: { ...(reply ? { code: 200 } : {}), method: 'GET', url, protocol: 'HTTP/1.1', headers: [
            { key: ':authority', value: `${b.app}:${b.port}` }, { key: 'Accept', value: '*/*' }, { key: 'User-Agent', value: 'curl/7.74.0' },
            { key: 'X-Forwarded-Proto', value: 'http' }, { key: 'X-Request-Id', value: `49116c2c-3017-4237-97e7-${String(i).padStart(12, '0')}` }] } },
        reply, event_type: { type: 129 }, traffic_direction: 'EGRESS', is_reply: reply, Summary: `HTTP/1.1 GET ${url}` };
    } else if (k < 0.97) {
      flow = { time, verdict: 'FORWARDED', ethernet, ...ends(a, { ip: `35.246.${i % 7}.${20 + (i % 50)}`, ep: world }), l4: l4('TCP', cport, 443, { ACK: true }), Type: 'L3_L4',
        node_name: node, ...(reply ? {} : { destination_names: ['api.payments.example.com'] }), event_type: { type: 4, sub_type: 3 }, traffic_direction: 'EGRESS',
        is_reply: reply, Summary: 'TCP Flags: ACK' };
    } else {
      // Drops (policy denied, from the host or a pod) never have replies.
      const src = k < 0.98 ? { ip: '10.156.0.1', ep: host } : a;
      flow = { time, verdict: 'DROPPED', ethernet, IP: { source: src.ip, destination: b.ip, ipVersion: 'IPv4' }, l4: { TCP: { source_port: cport, destination_port: b.port, flags: { SYN: true } } },
        source: src.ep, destination: b.ep, Type: 'L3_L4', node_name: node, event_type: { type: 1, sub_type: 133 }, traffic_direction: 'INGRESS',
        drop_reason: 133, drop_reason_desc: 'POLICY_DENIED', Summary: 'TCP Flags: SYN' };
    }
    out.push(JSON.stringify({ flow, node_name: node, time }));
  }
  return out;
}

/**
 * The lines as `forEachLine` hands them to a source: slices of the ~1 MiB texts it decodes (not strings of their own:
 * 200k separate line strings in the heap make the collector, not the parser, the thing measured).
 */
function asRead(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    const batch: string[] = [];
    for (let size = 0; i < lines.length && size < 1 << 20; i++) {
      batch.push(lines[i]);
      size += lines[i].length + 1;
    }
    const text = `${batch.join('\n')}\n`;
    for (let s = 0, nl = text.indexOf('\n'); nl !== -1; s = nl + 1, nl = text.indexOf('\n', s)) out.push(text.slice(s, nl));
  }
  return out;
}

/** The real Hubble fixture's lines, when `../shared` is there (run from `dist/bench` or from `bench`). */
function realHubbleLines(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = ['../../../shared', '../../shared'].map((up) => join(here, up, 'fixtures/cilium-hubble-otel-flows')).find((d) => existsSync(d));
  if (dir === undefined) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.length > 0));
}

/** A classic pcap of Ethernet/IPv4/TCP frames (74 bytes each), one SYN per connection then data both ways. */
function pcapFile(n: number): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  const rec = 16 + 74;
  const buf = Buffer.alloc(24 + n * rec);
  hdr.copy(buf, 0);
  for (let i = 0; i < n; i++) {
    const o = 24 + i * rec;
    const conn = i >> 4;
    const back = (i & 1) === 1;
    buf.writeUInt32LE(1735689600 + (i >> 12), o);
    buf.writeUInt32LE((i * 37) % 1000000, o + 4);
    buf.writeUInt32LE(74, o + 8);
    buf.writeUInt32LE(74, o + 12);
    const f = o + 16;
    buf.writeUInt16BE(0x0800, f + 12);
    const ip = f + 14;
    buf[ip] = 0x45;
    buf.writeUInt16BE(60, ip + 2);
    buf[ip + 8] = 64;
    buf[ip + 9] = 6;
    const client = [10, 1, (conn >> 8) & 255, conn & 255];
    const server = [10, 2, 0, conn % 50];
    Buffer.from(back ? server : client).copy(buf, ip + 12);
    Buffer.from(back ? client : server).copy(buf, ip + 16);
    const tcp = ip + 20;
    const cport = 32768 + (conn % 20000);
    buf.writeUInt16BE(back ? 443 : cport, tcp);
    buf.writeUInt16BE(back ? cport : 443, tcp + 2);
    buf[tcp + 12] = 0xa0;
    buf[tcp + 13] = (i & 15) === 0 ? 0x02 : (i & 15) === 1 ? 0x12 : 0x18;
  }
  return buf;
}

function zeekLines(n: number): string[] {
  const out = ['#separator \\x09', '#path\tconn',
    '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents'];
  for (let i = 0; i < n; i++) {
    out.push([1735689600 + i / 100, `C${i}`, `10.1.${(i >> 8) & 255}.${i & 255}`, 40000 + (i % 20000), `10.2.0.${i % 50}`, 443, 'tcp', 'ssl', '0.5', 500, 4000, 'SF', 'T', 'T', 0, 'ShADadFf', 8, 900, 7, 4400, '-'].join('\t'));
  }
  return out;
}

/** GCP VPC Flow Logs LogEntry NDJSON, both ends of pod traffic reporting, with GKE details. */
function gcpLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const reporter = i % 2 === 0 ? 'SRC' : 'DEST';
    const t = new Date(Date.UTC(2025, 0, 1) + i * 50).toISOString();
    const vm = (k: number) => ({ project_id: 'p', region: 'us-central1', zone: 'us-central1-a', vm_name: `gke-node-${k % 8}` });
    out.push(JSON.stringify({
      insertId: `id${i}`, logName: 'projects/p/logs/compute.googleapis.com%2Fvpc_flows', timestamp: t, receiveTimestamp: t,
      resource: { type: 'gce_subnetwork', labels: { project_id: 'p', subnetwork_id: '123', subnetwork_name: 'default', location: 'us-central1' } },
      jsonPayload: {
        connection: { src_ip: `10.8.${i % 20}.${(i >> 5) % 250}`, src_port: 40000 + (i % 20000), dest_ip: `10.8.${(i + 7) % 20}.9`, dest_port: 8080, protocol: 6 },
        bytes_sent: String(1000 + (i % 5000)), packets_sent: String(1 + (i % 30)), start_time: t, end_time: t, reporter, rtt_msec: '3',
        src_instance: vm(i), dest_instance: vm(i + 3),
        src_vpc: { project_id: 'p', vpc_name: 'default', subnetwork_name: 'default', subnetwork_region: 'us-central1' },
        dest_vpc: { project_id: 'p', vpc_name: 'default', subnetwork_name: 'default', subnetwork_region: 'us-central1' },
        src_gke_details: { cluster: { cluster_name: 'c1', cluster_location: 'us-central1' }, pod: { pod_name: `svc${i % 20}-7d9f8b6c5d-x2x4z`, pod_namespace: 'shop' } },
        dest_gke_details: { cluster: { cluster_name: 'c1', cluster_location: 'us-central1' }, pod: { pod_name: `svc${(i + 7) % 20}-7d9f8b6c5d-x2x4z`, pod_namespace: 'shop' } },
      },
    }));
  }
  return out;
}

/** Azure VNet flow log v4 blobs (`{records:[…]}`, pretty-printed), 100 tuples per record; returns the lines and the tuple count. */
function azureLines(n: number): { lines: string[]; tuples: number } {
  const records = [];
  let tuples = 0;
  for (let r = 0; tuples < n; r++) {
    const flowTuples: string[] = [];
    for (let k = 0; k < 100; k++, tuples++) {
      const i = tuples;
      const state = i % 10 === 9 ? 'D' : (['B', 'C', 'E'] as const)[i % 3];
      flowTuples.push(`${1735689600000 + i * 20},10.0.${i % 20}.${(i >> 5) % 250},10.1.0.${i % 50},${40000 + (i % 20000)},443,6,O,${state},NX,${state === 'B' || state === 'D' ? '0,0,0,0' : `${3 + (i % 9)},${700 + i % 900},${4 + (i % 7)},${4000 + i % 3000}`}`);
    }
    records.push({
      time: new Date(Date.UTC(2025, 0, 1) + r * 60_000).toISOString(), flowLogVersion: 4, flowLogGUID: 'g', macAddress: `00224871C2${String(r % 100).padStart(2, '0')}`,
      category: 'FlowLogFlowEvent', flowLogResourceID: '/x', targetResourceID: '/vnet', operationName: 'FlowLogFlowEvent',
      flowRecords: { flows: [{ aclID: `acl-${r % 4}`, flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples }] }] },
    });
  }
  return { lines: JSON.stringify({ records }, null, 4).split('\n'), tuples };
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
}

function timeLines(source: typeof hubble, lines: string[]): number {
  const ctx = newReadContext('bench');
  const agg = new FlowAggregator(() => {}, {});
  ctx.dns = (d) => agg.addDns(d);
  const t0 = performance.now();
  const h = source.open(ctx, (r) => agg.add(r));
  for (let i = 0; i < lines.length; i++) h.line(lines[i], i + 1);
  h.end?.();
  agg.drain();
  return performance.now() - t0;
}

export async function benchSources(): Promise<{ label: string; value: string }[]> {
  const out: { label: string; value: string }[] = [];
  // Hubble: the median of three runs (one run on a shared machine is noise), each over 200k lines as ingest reads them.
  const median3 = (lines: string[]) => [0, 1, 2].map(() => timeLines(hubble, lines)).sort((x, y) => x - y)[1];
  const hl = asRead(hubbleLines(200_000));
  timeLines(hubble, hl.slice(0, 20_000));
  out.push({ label: 'Hubble JSON parse+aggregate (records)', value: rate(hl.length, median3(hl)) });
  const real = realHubbleLines();
  if (real.length > 0) {
    const rl = asRead(Array.from({ length: Math.ceil(200_000 / real.length) }, () => real).flat());
    out.push({ label: '  the real fixture\'s lines, repeated (records)', value: rate(rl.length, median3(rl)) });
  }
  const zl = zeekLines(300_000);
  timeLines(zeek, zl.slice(0, 20_000));
  out.push({ label: 'Zeek conn.log TSV parse+aggregate (connections)', value: rate(zl.length - 3, timeLines(zeek, zl)) });
  const gl = gcpLines(100_000);
  timeLines(gcpVpc, gl.slice(0, 10_000));
  out.push({ label: 'GCP VPC NDJSON parse+aggregate (records)', value: rate(gl.length, timeLines(gcpVpc, gl)) });
  const az = azureLines(300_000);
  timeLines(azureFlow, az.lines.slice(0, 20_000));
  out.push({ label: 'Azure VNet v4 parse+aggregate (tuples)', value: rate(az.tuples, timeLines(azureFlow, az.lines)) });
  const n = 1_000_000;
  const file = pcapFile(n);
  const run = () => {
    const ctx = newReadContext('bench.pcap');
    const agg = new FlowAggregator(() => {}, {});
    const h = pcap.openBinary!(ctx, (r) => agg.add(r));
    const t0 = performance.now();
    for (let o = 0; o < file.length; o += 1 << 20) h.chunk(file.subarray(o, Math.min(file.length, o + (1 << 20))));
    h.end();
    agg.drain();
    return performance.now() - t0;
  };
  run();
  out.push({ label: 'pcap decode+aggregate (packets)', value: rate(n, run()) });
  return out;
}

// Run alone (`node dist/bench/sources.js`): print the rows; `npm run bench` prints them in its own table.
if (import.meta.url === `file://${process.argv[1]}`) for (const r of await benchSources()) process.stdout.write(`${r.label.padEnd(50)} ${r.value}\n`);
