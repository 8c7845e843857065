import { isIP } from 'node:net';
import { countSkip, stableLabels, TCP, type FlowRecord } from '../model/index.js';
import { EndpointCache, scanFlow, viewOfParsed, type EndpointEntry, type FlowView, type HubbleEndpoint } from './hubble-scan.js';
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
 * `missing-address`, `bad-address`, `bad-port`, `bad-time`, `verdict-error`.
 *
 * Reading: each line is scanned for the fields above without `JSON.parse` (`hubble-scan.ts`, a validating pass over
 * its bytes); a line the scanner is not sure of is parsed. Both give the same `FlowView` of a line, and everything
 * after (checks, identities, records) is the same code: `collector/hubble.test.ts` holds the two to each other.
 * Endpoint fields of the wrong type (labels not a list of strings, a pod name that is not a string) count as absent.
 */

const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535;

const RESERVED_BY_NUMBER: Record<number, string> = { 1: 'host', 2: 'world', 4: 'health', 6: 'remote-node', 7: 'kube-apiserver', 8: 'ingress' };
const ALLOWED = new Set(['FORWARDED', 'REDIRECTED', 'AUDIT', 'TRACED', 'TRANSLATED']);
/** Labels Cilium adds that say nothing about which workload this is. */
const NOISE_LABEL = /^(io\.cilium\.|io\.kubernetes\.pod\.namespace$)/;
const DEFERRED_MAX = 100_000;

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

function k8sLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    if (!l.startsWith('k8s:')) continue;
    const eq = l.indexOf('=');
    if (eq < 0) out[l.slice(4)] = '';
    else out[l.slice(4, eq)] = l.slice(eq + 1);
  }
  return out;
}

function reservedOf(ep: HubbleEndpoint, list: string[]): string | undefined {
  for (const l of list) {
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

/**
 * `Date.parse` for RFC 3339 UTC times, remembering the last whole second: consecutive flows share it, and only the
 * whole second is kept. Anything but `YYYY-MM-DDTHH:MM:SS[.digits]Z` goes to `Date.parse` as before.
 */
export class TimeParser {
  private prefix = '';
  private ms = NaN;

  parse(v: unknown): number {
    if (typeof v !== 'string') return Date.parse(v as string);
    const n = v.length;
    if (n < 20 || v.charCodeAt(n - 1) !== 90 /* Z */ || v.charCodeAt(10) !== 84 /* T */) return Date.parse(v);
    if (n > 20) {
      if (v.charCodeAt(19) !== 46 /* . */ || n === 21) return Date.parse(v);
      for (let k = 20; k < n - 1; k++) {
        const c = v.charCodeAt(k);
        if (c < 48 || c > 57) return Date.parse(v);
      }
    }
    if (this.prefix.length === 19 && v.startsWith(this.prefix)) return this.ms;
    const ms = Date.parse(`${v.slice(0, 19)}Z`);
    if (!Number.isFinite(ms)) return Date.parse(v);
    this.prefix = v.slice(0, 19);
    this.ms = ms;
    return ms;
  }
}

/** The endpoint's labels: the strings of its `labels` array (anything else there is no label). */
function labelList(ep: HubbleEndpoint): string[] {
  const l: unknown = ep.labels;
  if (!Array.isArray(l)) return [];
  return l.every((x) => typeof x === 'string') ? (l as string[]) : l.filter((x): x is string => typeof x === 'string');
}

function labelsIdentity(ns: string, labels: Record<string, string>): string {
  const stable = stableLabels(labels);
  const keys = Object.keys(stable).filter((k) => !NOISE_LABEL.test(k)).sort();
  return `labels:${ns}:${keys.map((k) => `${k}=${stable[k]}`).join(',')}`;
}

const FIXED = 0;
const WORLD = 1;
const NAMED = 2;
const LABELS = 3;

/**
 * What an endpoint says of its identity, before the file's other flows are consulted: FIXED (a reserved identity, or
 * none: no namespace), WORLD (an outside address, unless another flow showed it as a pod's), NAMED (its workload, from
 * `workloads` or the pod name; learnt for its identity number and address), LABELS (labels only: the workload another
 * flow showed for its identity number, else `fallback`, its stable labels). `cacheKey`: a named pod's key in the
 * per-file cache ('' for others).
 */
interface Plan {
  cacheKey: string; kind: number; id: string | undefined; numberKey: string; learnNumber: boolean; learnIp: boolean; fallback: string;
  /** The per-file cache's entry for `cacheKey`, once found there. */
  named: Named | undefined;
}
/** A named pod's identity, and the last address it was learnt for. */
interface Named { id: string; learnIp: boolean; lastIp: string }

function planOf(ep: HubbleEndpoint): Plan {
  const pod = typeof ep.pod_name === 'string' ? ep.pod_name : undefined;
  const cacheKey = ep.pod_name ? `${ep.namespace ?? ''}/${ep.pod_name}/${ep.identity ?? ''}/${ep.workloads?.[0]?.name ?? ''}` : '';
  const plan: Plan = { cacheKey, kind: FIXED, id: undefined, numberKey: '', learnNumber: false, learnIp: false, fallback: '', named: undefined };
  const list = labelList(ep);
  const labels = k8sLabels(list);
  const ns = ep.namespace ?? labels['io.kubernetes.pod.namespace'];
  const reserved = reservedOf(ep, list);
  // A host-network pod is named (pod_name) but carries the host's or world's identity: the pod is what it is.
  if (reserved && !(ns && (ep.pod_name || ep.workloads?.[0]?.name))) {
    if (reserved === 'world') plan.kind = WORLD;
    else plan.id = `reserved:${reserved}`;
    return plan;
  }
  if (!ns) return plan;
  plan.numberKey = `${ns}/${ep.identity ?? ''}`;
  const wl = ep.workloads?.[0];
  if (wl?.name && wl.kind) plan.id = `${ns}/${wl.name}[${wl.kind}]`;
  else if (pod) {
    const o = podOwner(pod, labels);
    plan.id = `${ns}/${o.name}[${o.kind}]`;
  }
  if (plan.id) {
    plan.kind = NAMED;
    plan.learnNumber = ep.identity !== undefined && !reserved;
    plan.learnIp = !reserved;
    return plan;
  }
  plan.kind = LABELS;
  plan.learnNumber = ep.identity !== undefined;
  plan.fallback = labelsIdentity(ns, labels);
  return plan;
}

/**
 * A string of its own, for an issue's detail (issues are kept): the scanner's strings are slices of the line, which
 * keep the whole read chunk alive. (Round-tripped through JSON: exact for any string.)
 */
const detached = (s: string): string => (s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string));

/** A flow whose one end is known only by labels, waiting for the file to show that identity's workload. */
interface Deferred { r: FlowRecord; src?: Pending; dst?: Pending }
/** What an end waits for: the workload `map` will hold under `key` by the end of the file, else `fallback`. */
interface Pending { map: Map<string, string>; key: string; fallback: string }

/** What `openHubble` reads with: the scanner (the default) or `JSON.parse` alone (the reference the tests compare with). */
export interface HubbleReadOptions { scan?: boolean }

/** Line → view: the scanner's when it reads the line with certainty, else `JSON.parse`'s. Also for the tests. */
export function hubbleViews(): { scan(line: string): FlowView | undefined; parse(line: string): FlowView | string } {
  const cache = new EndpointCache();
  return {
    scan: (line) => scanFlow(line, cache),
    parse(line) {
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch {
        return 'bad-json';
      }
      return viewOfParsed(o);
    },
  };
}

export function openHubble(ctx: ReadContext, emit: (r: FlowRecord) => void, opts: HubbleReadOptions = {}): LineHandler {
  const scan = opts.scan ?? true;
  /**
   * Cilium identity number (`ns/number`) / pod address → the workload a flow with a pod name showed for it; '' when
   * two disagreed.
   */
  const byNumber = new Map<string, string>();
  const byIp = new Map<string, string>();
  const named = new Map<string, Named>();
  const deferred: Deferred[] = [];
  const endpoints = new EndpointCache();
  const seconds = new TimeParser();
  let lastNode: unknown;
  let lastL7Observer = '';

  const learn = (map: Map<string, string>, key: string, id: string) => {
    const known = map.get(key);
    if (known === undefined) map.set(key, id);
    else if (known !== id) map.set(key, '');
  };

  /** What each endpoint object says of its identity, worked out once per object (the scanner shares them between lines). */
  const plans = new WeakMap<object, Plan>();

  /**
   * The identity of one end, or a deferral: labels without a pod name wait for another flow to show that Cilium
   * identity's workload; `world` on an address another flow of the file showed as a pod's (Hubble's address cache
   * lagging behind a new pod) waits for that pod.
   */
  const identityOf = (ep: unknown, ip: string, entry: EndpointEntry | undefined): string | Pending | undefined => {
    // Not an object (a malformed line's string or number): no identity. (A WeakMap refuses such keys.)
    if (!ep || typeof ep !== 'object') return undefined;
    // The scanner's endpoints keep their plan with them; parsed ones are looked up.
    let plan = entry !== undefined ? (entry.aux as Plan | undefined) : plans.get(ep);
    if (plan === undefined) {
      plan = planOf(ep as HubbleEndpoint);
      if (entry !== undefined) entry.aux = plan;
      else plans.set(ep, plan);
    }
    // Most records repeat a few endpoints: a named pod's identity is worked out once. (`named` entries are never
    // replaced, so the plan can keep the one it found.)
    let cached = plan.named;
    if (cached === undefined && plan.cacheKey !== '') cached = plan.named = named.get(plan.cacheKey);
    if (cached) {
      if (cached.learnIp && cached.lastIp !== ip) {
        learn(byIp, ip, cached.id);
        cached.lastIp = ip;
      }
      return cached.id;
    }
    switch (plan.kind) {
      case FIXED:
        return plan.id;
      case WORLD:
        return byIp.get(ip) || { map: byIp, key: ip, fallback: 'reserved:world' };
      case NAMED: {
        const id = plan.id!;
        if (plan.learnNumber) learn(byNumber, plan.numberKey, id);
        if (plan.learnIp) learn(byIp, ip, id);
        if (plan.cacheKey !== '' && named.size < 100_000) named.set(plan.cacheKey, { id, learnIp: plan.learnIp, lastIp: ip });
        return id;
      }
      default:
        return (plan.learnNumber ? byNumber.get(plan.numberKey) : undefined) || { map: byNumber, key: plan.numberKey, fallback: plan.fallback };
    }
  };

  const settle = (d: Deferred) => {
    const pick = (x: Pending) => x.map.get(x.key) || x.fallback;
    if (d.src) d.r.srcIdentity = pick(d.src);
    if (d.dst) d.r.dstIdentity = pick(d.dst);
    emit(d.r);
  };

  /** `JSON.parse`'s view of a line the scanner left; undefined (the issue reported) when it is not a flow record. */
  const parsed = (text: string, lineNo: number): FlowView | undefined => {
    let o: any;
    try {
      o = JSON.parse(text);
    } catch (e) {
      ctx.issue({ line: lineNo, reason: 'bad-json', detail: (e as Error).message });
      return undefined;
    }
    const v = viewOfParsed(o);
    if (v === 'not-a-flow') {
      ctx.issue({ line: lineNo, reason: 'not-a-flow', detail: Object.keys(o ?? {}).slice(0, 3).join(',') });
      return undefined;
    }
    if (v === 'missing-address') {
      ctx.issue({ line: lineNo, reason: 'missing-address', detail: (o?.flow ?? o).Summary ?? undefined });
      return undefined;
    }
    return v;
  };

  return {
    line(text, lineNo) {
      if (text.length === 0 || (text.length < 8 && text.trim().length === 0)) return;
      const v = (scan ? scanFlow(text, endpoints) : undefined) ?? parsed(text, lineNo);
      if (v === undefined) return;
      const srcIp = v.srcIp;
      const dstIp = v.dstIp;
      if (!v.ipv4 && (!isIP(srcIp) || !isIP(dstIp))) {
        ctx.issue({ line: lineNo, reason: 'bad-address', detail: `${srcIp} -> ${dstIp}` });
        return;
      }
      const ms = Number.isNaN(v.timeMs) ? seconds.parse(v.time) : v.timeMs;
      if (!Number.isFinite(ms)) {
        ctx.issue({ line: lineNo, reason: 'bad-time', detail: detached(String(v.time)) });
        return;
      }
      const verdict = String(v.verdict ?? 'FORWARDED');
      let action: FlowRecord['action'];
      if (verdict === 'DROPPED') {
        action = 'REJECT';
        const why = `dropped:${v.dropReason ?? 'unknown'}`;
        const notes = (ctx.counts.notes ??= {});
        notes[why] = (notes[why] ?? 0) + 1;
      } else if (verdict === 'FORWARDED' || ALLOWED.has(verdict)) action = 'ACCEPT';
      else {
        ctx.issue({ line: lineNo, reason: 'verdict-error', detail: detached(verdict) });
        return;
      }
      const protocol = v.protocol;
      const srcPort = v.srcPort;
      const dstPort = v.dstPort;
      if (!isPort(srcPort) || !isPort(dstPort)) {
        ctx.issue({ line: lineNo, reason: 'bad-port', detail: `${String(srcPort)} -> ${String(dstPort)}` });
        return;
      }
      const reply = v.reply;
      const icmpType = v.icmpType;
      const echoReply = (protocol === 1 && icmpType === 0) || (protocol === 58 && icmpType === 129);
      if ((reply === true || (reply === undefined && echoReply)) && srcPort === 0 && dstPort === 0) {
        // Without ports a reply cannot say which end is the server: only the request makes the edge.
        countSkip(ctx.counts, 'reply-without-ports');
        return;
      }
      const t = Math.floor(ms / 1000);
      let observer = v.node as string;
      if (v.l7) {
        // L7 records repeat an L3/L4 record of the same flow: another observer, so the store keeps the larger count.
        if (observer !== lastNode || typeof observer !== 'string') {
          lastNode = observer;
          lastL7Observer = `${observer}/L7`;
        }
        observer = lastL7Observer;
      }
      const tcpFlags = v.tcpFlags;
      // One shape for every record (the optional fields present, undefined when unknown): the aggregator's property
      // reads stay monomorphic, and no record changes shape when its identity is settled later.
      const r: FlowRecord = {
        srcIp, dstIp, srcPort, dstPort, protocol, packets: 1, bytes: 0, start: t, end: t, action, observer,
        tcpFlags: tcpFlags !== undefined && reply !== undefined ? tcpFlags & ~TCP.SYN : tcpFlags, reply, srcIdentity: undefined, dstIdentity: undefined,
      };
      if (ctx.dns) {
        if (v.names !== undefined) {
          for (const n of v.names) ctx.dns({ ip: dstIp, name: n.replace(/\.$/, ''), first: t, last: t + 300 });
        }
        if (v.dnsQuery !== undefined) {
          const name = v.dnsQuery.replace(/\.$/, '');
          for (const ip of v.dnsIps!) ctx.dns({ ip, name, first: t, last: t + v.dnsTtl });
        }
      }
      const src = identityOf(v.source, srcIp, v.srcEntry);
      const dst = identityOf(v.destination, dstIp, v.dstEntry);
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
}

export const hubble: FlowSource = {
  kind: 'flows',
  format: 'hubble',
  detect(head) {
    const first = head.split('\n', 1)[0].trimStart();
    if (!first.startsWith('{')) return false;
    return (/"flow"\s*:\s*\{/.test(head) && /"verdict"\s*:/.test(head)) || (/"verdict"\s*:/.test(first) && /"(IP|l4)"\s*:/.test(first) && /"source"\s*:\s*\{/.test(first));
  },
  open: (ctx, emit) => openHubble(ctx, emit),
};
