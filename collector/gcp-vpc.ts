import ipaddr from 'ipaddr.js';
import type { FlowRecord } from '../model/index.js';
import { podOwner } from './hubble.js';
import type { FlowSource, LineHandler, ReadContext } from './source.js';

/**
 * GCP VPC Flow Logs as Cloud Logging exports them: `LogEntry` JSON with the flow in `jsonPayload` — one entry per line
 * (NDJSON, the sink / `gcloud logging read --format=json` piped through jq -c), a JSON array of entries, or a single
 * pretty-printed entry. Read as a stream of entries (`JsonEntries`), never the whole file at once.
 *
 * What the records mean:
 * - `connection` (src_ip, src_port, dest_ip, dest_port, protocol number) is the 5-tuple as the packets carried it;
 *   `bytes_sent` / `packets_sent` are from src to dest (int64 JSON strings). Each direction of a connection is its own
 *   record, with no reply flag: the analyzer decides the server side from listening ports.
 * - `reporter` (SRC / DEST / SRC_GATEWAY / DEST_GATEWAY) is the observing side. A flow between two logged VMs is
 *   reported by both: the observer is the reporting side's VM (`gce:project/zone/vm`), else its VPC subnet, so the
 *   store keeps one copy instead of doubling the graph.
 * - No ACCEPT/REJECT: flow logs are allowed traffic (ingress is sampled after the firewall). Newer logs may carry
 *   `disposition` (ALLOWED / DROPPED); DROPPED becomes REJECT.
 * - `src_gke_details` / `dest_gke_details` (pod name/namespace, `pod_workload`, service) become identities: the
 *   workload `ns/name[Kind]`, or the Service `ns/name[Service]` when only a service is named.
 * - GCP samples (about 1 packet in 30 by default, and a configurable share of flows): absence of a flow is not
 *   evidence that it does not happen.
 *
 * Reasons (ctx.issue, `line` = the line the entry starts on): `bad-json`, `not-a-flow` (an entry without
 * `jsonPayload.connection`: audit logs, other logs of the same sink), `bad-address`, `bad-number`, `bad-time`.
 */

/**
 * Objects of a JSON text fed a line at a time: each top-level object, or each element of the top-level array (depth
 * `entryDepth`, 0 or 1), or with `entryDepth` 2 each element of an array inside the top-level object (Azure's
 * `{records:[…]}`). A line that is a whole object on its own (NDJSON) is parsed without scanning.
 */
export class JsonEntries {
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Depth at which captured objects start (the depth before their `{`). */
  private at = -1;
  private parts: string[] = [];
  private startLine = 0;

  constructor(
    private readonly entryDepth: 0 | 2,
    /** `raw` is the entry's text (lines joined by \n), to locate a part of it in an issue. */
    private readonly onEntry: (o: unknown, line: number, raw: string) => void,
    private readonly onBad: (line: number, detail: string) => void,
  ) {}

  line(text: string, lineNo: number): void {
    // NDJSON: a whole entry on a line. Also how a truncated entry ends: the next line at column 0 that is a whole
    // entry means the open one will never close (pretty-printed entries never open a nested object at column 0).
    if (this.entryDepth === 0 && (this.depth === 0 || this.at === 0) && text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125) {
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch {
        o = undefined;
      }
      if (o !== undefined) {
        if (this.depth !== 0) {
          this.onBad(this.startLine, 'entry cut short: a new entry starts before it closes');
          this.depth = 0;
          this.inString = this.escape = false;
          this.parts = [];
          this.at = -1;
        }
        return this.onEntry(o, lineNo, text);
      }
    }
    this.scan(text, lineNo);
  }

  private scan(text: string, lineNo: number): void {
    let from = -1;
    if (this.at >= 0) from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 92) this.escape = true;
        else if (c === 34) this.inString = false;
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) {
        // Top level: an array's elements are the entries (depth 1), an object is one.
        if (this.at < 0 && c === 123 && (this.depth === this.entryDepth || (this.entryDepth === 0 && this.depth === 1))) {
          this.at = this.depth;
          this.startLine = lineNo;
          from = i;
        }
        this.depth++;
      } else if (c === 125 || c === 93) {
        this.depth--;
        if (this.depth < 0) {
          this.onBad(lineNo, 'unbalanced brackets');
          this.depth = 0;
        }
        if (this.at >= 0 && this.depth === this.at) {
          this.parts.push(text.slice(from, i + 1));
          const json = this.parts.join('\n');
          this.parts = [];
          this.at = -1;
          from = -1;
          let o: unknown;
          try {
            o = JSON.parse(json);
          } catch (e) {
            this.onBad(this.startLine, (e as Error).message);
            continue;
          }
          this.onEntry(o, this.startLine, json);
        }
      }
    }
    if (this.at >= 0) this.parts.push(from <= 0 ? text : text.slice(from));
  }

  /** At end of input: an entry left open is a truncated file. */
  end(): void {
    if (this.at >= 0 || this.inString) this.onBad(this.startLine || 1, 'unterminated JSON at end of input');
    this.parts = [];
    this.at = -1;
  }
}

/** Canonical address (RFC 5952 IPv6, IPv4-mapped as IPv4), or undefined. */
export function canonicalIp(v: unknown): string | undefined {
  if (typeof v !== 'string' || !ipaddr.isValid(v)) return undefined;
  const a = ipaddr.parse(v);
  if (a.kind() === 'ipv6') {
    const six = a as ipaddr.IPv6;
    return six.isIPv4MappedAddress() ? six.toIPv4Address().toString() : six.toRFC5952String();
  }
  return ipaddr.IPv4.isValidFourPartDecimal(v) ? v : undefined;
}

/** int64 as GCP's JSON gives it (a string) or a number; undefined when absent; NaN when not a count. */
function count(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : NaN;
}

interface GkeDetails {
  pod?: { pod_name?: string; pod_namespace?: string; pod_workload?: { workload_name?: string; workload_type?: string } };
  service?: { service_name?: string; service_namespace?: string }[] | { service_name?: string; service_namespace?: string };
}

const WORKLOAD_KINDS: Record<string, string> = {
  DEPLOYMENT: 'Deployment', STATEFUL_SET: 'StatefulSet', STATEFULSET: 'StatefulSet', DAEMON_SET: 'DaemonSet', DAEMONSET: 'DaemonSet',
  JOB: 'Job', CRON_JOB: 'CronJob', CRONJOB: 'CronJob', REPLICA_SET: 'ReplicaSet', POD: 'Pod',
};

/** The identity GKE details name: the pod's workload, else the one Service named. */
export function gkeIdentity(d: GkeDetails | undefined): string | undefined {
  if (!d || typeof d !== 'object') return undefined;
  const pod = d.pod;
  if (pod?.pod_namespace && pod.pod_name) {
    const wl = pod.pod_workload;
    const kind = wl?.workload_type ? WORKLOAD_KINDS[wl.workload_type.toUpperCase()] : undefined;
    if (wl?.workload_name && kind && kind !== 'ReplicaSet') return `${pod.pod_namespace}/${wl.workload_name}[${kind}]`;
    const o = podOwner(pod.pod_name, {});
    return `${pod.pod_namespace}/${o.name}[${o.kind}]`;
  }
  const services = Array.isArray(d.service) ? d.service : d.service ? [d.service] : [];
  if (services.length === 1 && services[0].service_namespace && services[0].service_name) {
    return `${services[0].service_namespace}/${services[0].service_name}[Service]`;
  }
  return undefined;
}

interface Instance { project_id?: string; zone?: string; region?: string; vm_name?: string }
interface Vpc { project_id?: string; vpc_name?: string; subnetwork_name?: string; subnetwork_region?: string }

function observerOf(p: any, entry: any): string {
  const reporter = String(p.reporter ?? '');
  const side = reporter.startsWith('DEST') ? 'dest' : 'src';
  const inst: Instance | undefined = p[`${side}_instance`];
  if (inst?.vm_name) return `gce:${inst.project_id ?? ''}/${inst.zone ?? inst.region ?? ''}/${inst.vm_name}`;
  const gke = p[`${side}_gke_details`]?.cluster;
  const vpc: Vpc | undefined = p[`${side}_vpc`];
  if (vpc?.vpc_name) return `vpc:${vpc.project_id ?? ''}/${vpc.vpc_name}/${vpc.subnetwork_region ?? ''}/${vpc.subnetwork_name ?? ''}:${reporter}`;
  if (gke?.cluster_name) return `gke:${gke.cluster_location ?? ''}/${gke.cluster_name}:${reporter}`;
  const labels = entry?.resource?.labels ?? {};
  return `gcp:${labels.project_id ?? ''}/${labels.subnetwork_id ?? labels.name ?? ''}:${reporter}`;
}

function seconds(v: unknown): number {
  return typeof v === 'string' ? Math.floor(Date.parse(v) / 1000) : NaN;
}

class GcpVpcReader implements LineHandler {
  private readonly entries: JsonEntries;

  constructor(private readonly ctx: ReadContext, private readonly emit: (r: FlowRecord) => void) {
    this.entries = new JsonEntries(0, (o, line) => this.entry(o, line), (line, detail) => ctx.issue({ line, reason: 'bad-json', detail }));
  }

  line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    this.entries.line(text, lineNo);
  }

  end(): void {
    this.entries.end();
  }

  private entry(o: any, line: number): void {
    const ctx = this.ctx;
    // A JSON array of entries on one line (or a one-line file).
    if (Array.isArray(o)) {
      for (const e of o) this.entry(e, line);
      return;
    }
    const p = o?.jsonPayload;
    const c = p?.connection;
    if (!c || typeof c !== 'object') {
      ctx.issue({ line, reason: 'not-a-flow', detail: String(o?.logName ?? Object.keys(o ?? {}).slice(0, 3).join(',')) });
      return;
    }
    const srcIp = canonicalIp(c.src_ip);
    const dstIp = canonicalIp(c.dest_ip);
    if (!srcIp || !dstIp) {
      ctx.issue({ line, reason: 'bad-address', detail: `${String(c.src_ip)} → ${String(c.dest_ip)}` });
      return;
    }
    const protocol = c.protocol;
    let srcPort = c.src_port ?? 0;
    let dstPort = c.dest_port ?? 0;
    const packets = count(p.packets_sent) ?? 0;
    const bytes = count(p.bytes_sent) ?? 0;
    if (!Number.isInteger(protocol) || protocol < 0 || protocol > 255 || !Number.isInteger(srcPort) || srcPort < 0 || srcPort > 65535 ||
      !Number.isInteger(dstPort) || dstPort < 0 || dstPort > 65535 || Number.isNaN(packets) || Number.isNaN(bytes)) {
      ctx.issue({ line, reason: 'bad-number', detail: JSON.stringify({ protocol, src_port: c.src_port, dest_port: c.dest_port, packets_sent: p.packets_sent, bytes_sent: p.bytes_sent }) });
      return;
    }
    const start = seconds(p.start_time ?? o.timestamp);
    const end = seconds(p.end_time ?? p.start_time ?? o.timestamp);
    if (!Number.isFinite(start) || !Number.isFinite(end)) {
      ctx.issue({ line, reason: 'bad-time', detail: `${String(p.start_time)} / ${String(p.end_time)}` });
      return;
    }
    if (protocol === 1 || protocol === 58) srcPort = dstPort = 0;
    const r: FlowRecord = {
      srcIp, dstIp, srcPort, dstPort, protocol, packets, bytes, start, end,
      action: p.disposition === 'DROPPED' ? 'REJECT' : 'ACCEPT',
      observer: observerOf(p, o),
    };
    const reporter = String(p.reporter ?? '');
    if (reporter === 'SRC') r.direction = 'egress';
    else if (reporter === 'DEST') r.direction = 'ingress';
    const si = gkeIdentity(p.src_gke_details);
    const di = gkeIdentity(p.dest_gke_details);
    if (si) r.srcIdentity = si;
    if (di) r.dstIdentity = di;
    ctx.counts.read++;
    this.emit(r);
  }
}

export const gcpVpc: FlowSource = {
  kind: 'flows',
  format: 'gcp-vpc',
  detect(head) {
    const t = head.trimStart();
    if (!(t.startsWith('{') || t.startsWith('['))) return false;
    // A LogEntry with a flow payload: jsonPayload carrying connection.src_ip (any key order) and a vpc_flows log name
    // or GCP's flow fields, so another JSON format naming `connection` is not taken.
    return /"jsonPayload"\s*:/.test(head) && /"connection"\s*:\s*\{/.test(head) && /"src_ip"\s*:/.test(head) &&
      (/vpc_flows/.test(head) || /"reporter"\s*:\s*"(SRC|DEST)/.test(head) || /"packets_sent"\s*:/.test(head));
  },
  open(ctx, emit) {
    return new GcpVpcReader(ctx, emit);
  },
};
