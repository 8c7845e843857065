import { countSkip, stableLabels, TCP, type FlowRecord } from '../model/index.js';
import type { FlowSource, LineHandler, ReadContext } from './source.js';

/**
 * Cilium Hubble flows as JSON lines: `hubble observe -o json`, the Hubble exporter file, hubble-otel test data. Each
 * line is a flow (`flow.proto` as JSON), with or without the `{"flow": …, "node_name", "time"}` envelope.
 *
 * Hubble already knows who each end is, so records carry identities (`srcIdentity`/`dstIdentity`) and attribution
 * uses them instead of addresses:
 * - `workloads[0]` (newer Hubble) names the owner; else the pod name's pattern (`x-<hash>-<id>` Deployment,
 *   `x-<8+ digits>-<id>` CronJob, `x-<n>` StatefulSet, `x-<id>` DaemonSet) and the `job-name` label; else a bare Pod.
 * - An endpoint with labels but no pod name takes the workload another flow of the same file showed for its Cilium
 *   security identity (same labels, same identity number). Those records wait until the end of the file; still
 *   unknown then, they are named by their stable labels (`labels:ns:app=x,version=y`) and the analyzer matches them
 *   against the cluster's workloads.
 * - Reserved identities: world (and CIDR/FQDN identities) → External; host, remote-node, health → Node;
 *   kube-apiserver → the `default/kubernetes` Service.
 *
 * `is_reply` (or the older `reply`) marks the server's side: it never opens an edge. Replies without ports (ICMP) are
 * passed over (`reply-without-ports`, counted). Verdicts: FORWARDED, REDIRECTED (to a proxy), AUDIT, TRACED,
 * TRANSLATED are allowed traffic; DROPPED is denied and its drop reason is counted (`dropped:<reason>` in the notes);
 * ERROR records are skipped. DNS: `destination_names` and L7 DNS answers (`ips` with `ttl`) become DNS evidence.
 * Hubble records no byte counts (bytes 0); each record counts as one packet.
 *
 * Reasons this source reports (ctx.issue, `line` set): `bad-json`, `not-a-flow` (node status, lost events…),
 * `missing-address`, `bad-time`, `verdict-error`.
 */

const FLAG_BITS: Record<string, number> = { FIN: TCP.FIN, SYN: TCP.SYN, RST: TCP.RST, PSH: TCP.PSH, ACK: TCP.ACK, URG: TCP.URG };
const RESERVED_BY_NUMBER: Record<number, string> = { 1: 'host', 2: 'world', 4: 'health', 6: 'remote-node', 7: 'kube-apiserver', 8: 'ingress' };
const ALLOWED = new Set(['FORWARDED', 'REDIRECTED', 'AUDIT', 'TRACED', 'TRANSLATED']);
/** Labels Cilium adds that say nothing about which workload this is. */
const NOISE_LABEL = /^(io\.cilium\.|io\.kubernetes\.pod\.namespace$)/;
const DEFERRED_MAX = 100_000;

interface HubbleEndpoint {
  ID?: number;
  identity?: number;
  namespace?: string;
  labels?: string[];
  pod_name?: string;
  workloads?: { name?: string; kind?: string }[];
}

/** Owner of a pod from its name (and labels), as Kubernetes' controllers name pods. */
export function podOwner(pod: string, labels: Record<string, string>): { kind: string; name: string } {
  const job = labels['job-name'] ?? labels['batch.kubernetes.io/job-name'];
  if (job) {
    const cron = /^(.+)-\d{8,}$/.exec(job);
    return cron ? { kind: 'CronJob', name: cron[1] } : { kind: 'Job', name: job };
  }
  const hash = labels['pod-template-hash'];
  if (hash && pod.includes(`-${hash}-`)) return { kind: 'Deployment', name: pod.slice(0, pod.lastIndexOf(`-${hash}-`)) };
  if (labels['statefulset.kubernetes.io/pod-name'] === pod) { const m = /^(.+)-\d+$/.exec(pod); if (m) return { kind: 'StatefulSet', name: m[1] }; }
  let m = /^(.+)-\d{8,}-[a-z0-9]{5}$/.exec(pod);
  if (m) return { kind: 'CronJob', name: m[1] };
  // ReplicaSet hashes use the "safe" alphabet (no vowels, no 0/1/3); 6-10 characters.
  m = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/.exec(pod);
  if (m) return { kind: 'Deployment', name: m[1] };
  m = /^(.+)-\d+$/.exec(pod);
  if (m) return { kind: 'StatefulSet', name: m[1] };
  m = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$/.exec(pod);
  if (m) return { kind: 'DaemonSet', name: m[1] };
  return { kind: 'Pod', name: pod };
}

function k8sLabels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    if (!l.startsWith('k8s:')) continue;
    const eq = l.indexOf('=');
    if (eq < 0) out[l.slice(4)] = '';
    else out[l.slice(4, eq)] = l.slice(eq + 1);
  }
  return out;
}

function reservedOf(ep: HubbleEndpoint): string | undefined {
  for (const l of ep.labels ?? []) {
    if (l.startsWith('reserved:')) {
      const r = l.slice(9);
      return r.startsWith('world') ? 'world' : r;
    }
    // CIDR and FQDN identities are addresses outside the cluster.
    if (l.startsWith('cidr:') || l.startsWith('fqdn:')) return 'world';
  }
  const n = ep.identity;
  return n !== undefined && n < 256 && !ep.pod_name && !ep.namespace ? RESERVED_BY_NUMBER[n] : undefined;
}

/** A flow whose one end is known only by labels, waiting for the file to show that identity's workload. */
interface Deferred { r: FlowRecord; src?: { key: string; fallback: string }; dst?: { key: string; fallback: string } }

export const hubble: FlowSource = {
  kind: 'flows',
  format: 'hubble',
  detect(head) {
    const first = head.split('\n', 1)[0].trimStart();
    if (!first.startsWith('{')) return false;
    return (/"flow"\s*:\s*\{/.test(head) && /"verdict"\s*:/.test(head)) || (/"verdict"\s*:/.test(first) && /"(IP|l4)"\s*:/.test(first) && /"source"\s*:\s*\{/.test(first));
  },
  open(ctx: ReadContext, emit: (r: FlowRecord) => void): LineHandler {
    /**
     * Cilium identity number (`ns/number`) or pod address (`ip:addr`) → the workload a flow with a pod name showed for
     * it; '' when two disagreed.
     */
    const byNumber = new Map<string, string>();
    const named = new Map<string, { id: string; learnIp: boolean; lastIp: string }>();
    const deferred: Deferred[] = [];

    const labelsIdentity = (ns: string, labels: Record<string, string>) => {
      const stable = stableLabels(labels);
      const keys = Object.keys(stable).filter((k) => !NOISE_LABEL.test(k)).sort();
      return `labels:${ns}:${keys.map((k) => `${k}=${stable[k]}`).join(',')}`;
    };

    const learn = (key: string, id: string) => {
      const known = byNumber.get(key);
      if (known === undefined) byNumber.set(key, id);
      else if (known !== id) byNumber.set(key, '');
    };

    /**
     * The identity of one end, or a deferral: labels without a pod name wait for another flow to show that Cilium
     * identity's workload; `world` on an address another flow of the file showed as a pod's (Hubble's address cache
     * lagging behind a new pod) waits for that pod.
     */
    const identityOf = (ep: HubbleEndpoint | undefined, ip: string): string | { key: string; fallback: string } | undefined => {
      if (!ep) return undefined;
      // Most records repeat a few endpoints: a named pod's identity is worked out once.
      const cacheKey = ep.pod_name ? `${ep.namespace ?? ''}/${ep.pod_name}/${ep.identity ?? ''}/${ep.workloads?.[0]?.name ?? ''}` : undefined;
      const cached = cacheKey !== undefined ? named.get(cacheKey) : undefined;
      if (cached) {
        if (cached.learnIp && cached.lastIp !== ip) {
          learn(`ip:${ip}`, cached.id);
          cached.lastIp = ip;
        }
        return cached.id;
      }
      const labels = k8sLabels(ep.labels);
      const ns = ep.namespace ?? labels['io.kubernetes.pod.namespace'];
      const reserved = reservedOf(ep);
      // A host-network pod is named (pod_name) but carries the host's or world's identity: the pod is what it is.
      if (reserved && !(ns && (ep.pod_name || ep.workloads?.[0]?.name))) {
        if (reserved !== 'world') return `reserved:${reserved}`;
        const owner = byNumber.get(`ip:${ip}`);
        return owner || { key: `ip:${ip}`, fallback: 'reserved:world' };
      }
      if (!ns) return undefined;
      const numberKey = `${ns}/${ep.identity ?? ''}`;
      const wl = ep.workloads?.[0];
      let id: string | undefined;
      if (wl?.name && wl.kind) id = `${ns}/${wl.name}[${wl.kind}]`;
      else if (ep.pod_name) {
        const o = podOwner(ep.pod_name, labels);
        id = `${ns}/${o.name}[${o.kind}]`;
      }
      if (id) {
        if (ep.identity !== undefined && !reserved) learn(numberKey, id);
        if (!reserved) learn(`ip:${ip}`, id);
        if (cacheKey !== undefined && named.size < 100_000) named.set(cacheKey, { id, learnIp: !reserved, lastIp: ip });
        return id;
      }
      const known = ep.identity !== undefined ? byNumber.get(numberKey) : undefined;
      if (known) return known;
      return { key: numberKey, fallback: labelsIdentity(ns, labels) };
    };

    const settle = (d: Deferred) => {
      const pick = (x: { key: string; fallback: string }) => byNumber.get(x.key) || x.fallback;
      if (d.src) d.r.srcIdentity = pick(d.src);
      if (d.dst) d.r.dstIdentity = pick(d.dst);
      emit(d.r);
    };

    return {
      line(text, lineNo) {
        if (text.length === 0 || (text.length < 8 && text.trim().length === 0)) return;
        let o: any;
        try {
          o = JSON.parse(text);
        } catch (e) {
          ctx.issue({ line: lineNo, reason: 'bad-json', detail: (e as Error).message });
          return;
        }
        const fl = o?.flow ?? o;
        if (!fl || typeof fl !== 'object' || (fl.verdict === undefined && fl.IP === undefined)) {
          ctx.issue({ line: lineNo, reason: 'not-a-flow', detail: Object.keys(o ?? {}).slice(0, 3).join(',') });
          return;
        }
        const srcIp = fl.IP?.source;
        const dstIp = fl.IP?.destination;
        if (typeof srcIp !== 'string' || typeof dstIp !== 'string' || !srcIp || !dstIp) {
          ctx.issue({ line: lineNo, reason: 'missing-address', detail: fl.Summary ?? undefined });
          return;
        }
        const ms = Date.parse(fl.time ?? o.time);
        if (!Number.isFinite(ms)) {
          ctx.issue({ line: lineNo, reason: 'bad-time', detail: String(fl.time ?? o.time) });
          return;
        }
        const verdict = String(fl.verdict ?? 'FORWARDED');
        let action: FlowRecord['action'];
        if (verdict === 'DROPPED') {
          action = 'REJECT';
          const why = `dropped:${fl.drop_reason_desc ?? fl.drop_reason ?? 'unknown'}`;
          const notes = (ctx.counts.notes ??= {});
          notes[why] = (notes[why] ?? 0) + 1;
        } else if (ALLOWED.has(verdict)) action = 'ACCEPT';
        else {
          ctx.issue({ line: lineNo, reason: 'verdict-error', detail: verdict });
          return;
        }
        const l4 = fl.l4 ?? {};
        let protocol = 0;
        let srcPort = 0;
        let dstPort = 0;
        let tcpFlags: number | undefined;
        let icmpType = -1;
        if (l4.TCP) {
          protocol = 6;
          srcPort = l4.TCP.source_port ?? 0;
          dstPort = l4.TCP.destination_port ?? 0;
          tcpFlags = 0;
          for (const k in l4.TCP.flags ?? {}) if (l4.TCP.flags[k]) tcpFlags |= FLAG_BITS[k] ?? 0;
        } else if (l4.UDP) {
          protocol = 17;
          srcPort = l4.UDP.source_port ?? 0;
          dstPort = l4.UDP.destination_port ?? 0;
        } else if (l4.SCTP) {
          protocol = 132;
          srcPort = l4.SCTP.source_port ?? 0;
          dstPort = l4.SCTP.destination_port ?? 0;
        } else if (l4.ICMPv4) {
          protocol = 1;
          icmpType = l4.ICMPv4.type ?? -1;
        } else if (l4.ICMPv6) {
          protocol = 58;
          icmpType = l4.ICMPv6.type ?? -1;
        }
        const replyFlag = fl.is_reply ?? fl.reply;
        const reply = typeof replyFlag === 'boolean' ? replyFlag : undefined;
        const echoReply = (protocol === 1 && icmpType === 0) || (protocol === 58 && icmpType === 129);
        if ((reply === true || (reply === undefined && echoReply)) && srcPort === 0 && dstPort === 0) {
          // Without ports a reply cannot say which end is the server: only the request makes the edge.
          countSkip(ctx.counts, 'reply-without-ports');
          return;
        }
        const t = Math.floor(ms / 1000);
        const r: FlowRecord = {
          srcIp, dstIp, srcPort, dstPort, protocol, packets: 1, bytes: 0, start: t, end: t, action,
          // L7 records repeat an L3/L4 record of the same flow: another observer, so the store keeps the larger count.
          observer: fl.Type === 'L7' ? `${fl.node_name ?? o.node_name ?? ''}/L7` : (fl.node_name ?? o.node_name ?? ''),
        };
        if (tcpFlags !== undefined) r.tcpFlags = reply !== undefined ? tcpFlags & ~TCP.SYN : tcpFlags;
        if (reply !== undefined) r.reply = reply;
        const dnsNames: unknown = fl.destination_names;
        if (Array.isArray(dnsNames) && ctx.dns) {
          for (const n of dnsNames) if (typeof n === 'string' && n) ctx.dns({ ip: dstIp, name: n.replace(/\.$/, ''), first: t, last: t + 300 });
        }
        const dns = fl.l7?.dns;
        if (dns && ctx.dns && Array.isArray(dns.ips) && typeof dns.query === 'string') {
          const name = dns.query.replace(/\.$/, '');
          for (const ip of dns.ips) if (typeof ip === 'string') ctx.dns({ ip, name, first: t, last: t + Number(dns.ttl ?? 0) });
        }
        const src = identityOf(fl.source, srcIp);
        const dst = identityOf(fl.destination, dstIp);
        if (typeof src === 'string') r.srcIdentity = src;
        if (typeof dst === 'string') r.dstIdentity = dst;
        if (typeof src === 'object' || typeof dst === 'object') {
          const d: Deferred = { r, ...(typeof src === 'object' ? { src } : {}), ...(typeof dst === 'object' ? { dst } : {}) };
          if (deferred.length < DEFERRED_MAX) deferred.push(d);
          else settle(d);
        } else emit(r);
        ctx.counts.read++;
      },
      end() {
        for (const d of deferred) settle(d);
        deferred.length = 0;
      },
    };
  },
};
