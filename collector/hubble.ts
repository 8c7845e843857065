import { isIP } from 'node:net';
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
 * `missing-address`, `bad-address`, `bad-port`, `bad-time`, `verdict-error`.
 */

const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535;

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

/**
 * The fields of a plain L3/L4 flow line read without `JSON.parse`: half the time of a ~1 KB line went to building
 * objects nobody reads (ethernet, event_type, the endpoints' label arrays repeated on every line). One pass over the
 * line's structure (character loops), keys compared in place, each endpoint parsed once per distinct text (`endpoints`). Taken only
 * when the answer is certainly the one parsing gives: a line without backslashes (so no string holds a quote or a
 * bracket escape), one balanced object, each key read once, an allowed verdict, TCP or UDP, no tunnel, L7, DNS
 * names or ICMP (the full path reads those). Anything else: undefined, and the line is parsed in full.
 */
function fastFlow(t: string, endpoints: EndpointCache, flagSets: Map<string, Record<string, boolean>>): any {
  // No backslash anywhere (a rare character: the native search is quick): no string holds a quote.
  if (t.charCodeAt(0) !== 123 || t.indexOf('\\') !== -1) return undefined;
  const envelope = t.startsWith('{"flow":{');
  const flowCode = envelope ? C_FLOW : C_TOP;
  const stack = STACK;
  const n = t.length;
  let depth = 0;
  let pending = C_TOP;
  let verdict: string | undefined, flowTime: string | undefined, topTime: string | undefined, flowNode: string | undefined, topNode: string | undefined;
  let type: string | undefined, isReply: boolean | undefined, reply: boolean | undefined;
  let src: string | undefined, dst: string | undefined, sp: number | undefined, dp: number | undefined, proto = 0;
  let flags: Record<string, boolean> | undefined, source: HubbleEndpoint | undefined, destination: HubbleEndpoint | undefined;
  let i = 0;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 34) {
      if (t.charCodeAt(i - 1) === 58) {
        // A value nobody asked for (values read are taken at their key): skipped by the native search.
        const e = t.indexOf('"', i + 1);
        if (e === -1) return undefined;
        i = e + 1;
        continue;
      }
      // Keys are short: a character loop costs less than a builtin call.
      let e = i + 1;
      for (let d = t.charCodeAt(e); d !== 34; d = t.charCodeAt(++e)) if (e >= n) return undefined;
      if (t.charCodeAt(e + 1) !== 58) {
        i = e + 1;
        continue;
      }
      const ks = i + 1;
      const kl = e - ks;
      const v = e + 2;
      const vc = t.charCodeAt(v);
      const parent = stack[depth];
      i = v;
      pending = C_OTHER;
      if (parent === flowCode) {
        if (kl === 7 && t.startsWith('verdict', ks)) { if (verdict !== undefined || (verdict = str(t, v)) === undefined) return undefined; i = v + verdict.length + 2; }
        else if (kl === 4 && t.startsWith('time', ks)) { if (flowTime !== undefined || (flowTime = str(t, v)) === undefined) return undefined; i = v + flowTime.length + 2; }
        else if (kl === 9 && t.startsWith('node_name', ks)) { if (flowNode !== undefined || (flowNode = str(t, v)) === undefined) return undefined; i = v + flowNode.length + 2; }
        else if (kl === 4 && t.startsWith('Type', ks)) { if (type !== undefined || (type = str(t, v)) === undefined) return undefined; i = v + type.length + 2; }
        else if (kl === 8 && t.startsWith('is_reply', ks)) { if (isReply !== undefined) return undefined; isReply = bool(t, v); if (isReply === undefined) return undefined; }
        else if (kl === 5 && t.startsWith('reply', ks)) { if (reply !== undefined) return undefined; reply = bool(t, v); if (reply === undefined) return undefined; }
        else if (kl === 2 && t.startsWith('IP', ks)) { if (vc !== 123 || src !== undefined) return undefined; pending = C_IP; }
        else if (kl === 2 && t.startsWith('l4', ks)) { if (vc !== 123 || proto !== 0) return undefined; pending = C_L4; }
        else if ((kl === 6 && t.startsWith('source', ks)) || (kl === 11 && t.startsWith('destination', ks))) {
          if (vc !== 123) return undefined;
          const end = endpointEnd(t, v);
          if (end === -1) return undefined;
          const ep = endpoints.get(t, v, end);
          if (ep === undefined) return undefined;
          if (kl === 6) { if (source !== undefined) return undefined; source = ep; }
          else { if (destination !== undefined) return undefined; destination = ep; }
          i = end;
        } else if ((kl === 2 && t.startsWith('l7', ks)) || (kl === 17 && t.startsWith('destination_names', ks)) || (kl === 6 && t.startsWith('tunnel', ks))) return undefined;
        // A bare flow with a `flow` key after all: parsing would read that one.
        else if (kl === 4 && parent === C_TOP && t.startsWith('flow', ks)) return undefined;
      } else if (parent === C_TOP) {
        // The envelope: its flow, and the time / node name the flow may lack.
        if (kl === 4 && t.startsWith('flow', ks)) { if (vc !== 123 || !envelope || depth !== 1 || i !== 8) return undefined; pending = C_FLOW; }
        else if (kl === 4 && t.startsWith('time', ks)) { if (topTime !== undefined || (topTime = str(t, v)) === undefined) return undefined; i = v + topTime.length + 2; }
        else if (kl === 9 && t.startsWith('node_name', ks)) { if (topNode !== undefined || (topNode = str(t, v)) === undefined) return undefined; i = v + topNode.length + 2; }
      } else if (parent === C_IP) {
        if (kl === 6 && t.startsWith('source', ks)) { if (src !== undefined || (src = str(t, v)) === undefined) return undefined; i = v + src.length + 2; }
        else if (kl === 11 && t.startsWith('destination', ks)) { if (dst !== undefined || (dst = str(t, v)) === undefined) return undefined; i = v + dst.length + 2; }
      } else if (parent === C_L4) {
        if (proto !== 0 || vc !== 123) return undefined;
        if (kl === 3 && t.startsWith('TCP', ks)) { proto = 6; pending = C_PORTS; }
        else if (kl === 3 && t.startsWith('UDP', ks)) { proto = 17; pending = C_PORTS; }
        else return undefined;
      } else if (parent === C_PORTS) {
        if (kl === 11 && t.startsWith('source_port', ks)) { if (sp !== undefined) return undefined; sp = uintAt(t, v); if (sp < 0) return undefined; }
        else if (kl === 16 && t.startsWith('destination_port', ks)) { if (dp !== undefined) return undefined; dp = uintAt(t, v); if (dp < 0) return undefined; }
        else if (kl === 5 && t.startsWith('flags', ks) && proto === 6) {
          const end = vc === 123 ? objectEnd(t, v) : -1;
          if (end === -1 || flags !== undefined) return undefined;
          const body = t.slice(v, end);
          flags = flagSets.get(body);
          if (flags === undefined) {
            try { flags = JSON.parse(body) as Record<string, boolean>; } catch { return undefined; }
            if (typeof flags !== 'object' || flags === null || flagSets.size >= 1000) return undefined;
            flagSets.set(body, flags);
          }
          i = end;
        }
      }
      continue;
    }
    if (c === 123 || c === 91) {
      if (++depth >= STACK.length) return undefined;
      stack[depth] = c === 123 ? pending : C_OTHER;
      pending = C_OTHER;
    } else if (c === 125 || c === 93) {
      // One object, nothing after it.
      if (--depth === 0 && i !== n - 1) return undefined;
    }
    i++;
  }
  if (depth !== 0 || verdict === undefined || !ALLOWED.has(verdict) || !src || !dst || proto === 0) return undefined;
  const ports = { source_port: sp, destination_port: dp, flags };
  return {
    time: flowTime ?? topTime, verdict, IP: { source: src, destination: dst }, l4: proto === 6 ? { TCP: ports } : { UDP: ports },
    source, destination, is_reply: isReply, reply, Type: type, node_name: flowNode ?? topNode,
  };
}

const C_OTHER = 0;
const C_TOP = 1;
const C_FLOW = 2;
const C_IP = 3;
const C_L4 = 4;
const C_PORTS = 5;
/** What each open object is, by depth (fastFlow's scratch; lines are read one at a time). */
const STACK = new Uint8Array(32);

/** The string value at v (which must open with a quote), or undefined. */
function str(t: string, v: number): string | undefined {
  if (t.charCodeAt(v) !== 34) return undefined;
  const e = t.indexOf('"', v + 1);
  return e === -1 ? undefined : t.slice(v + 1, e);
}

function bool(t: string, v: number): boolean | undefined {
  return t.startsWith('true', v) ? true : t.startsWith('false', v) ? false : undefined;
}

/** A plain unsigned integer (up to 9 digits) followed by `,` or `}`; -1 otherwise. */
function uintAt(t: string, v: number): number {
  let x = 0;
  let j = v;
  for (let c = t.charCodeAt(j); c >= 48 && c <= 57; c = t.charCodeAt(++j)) x = x * 10 + (c - 48);
  const c = t.charCodeAt(j);
  return j === v || j - v > 9 || (c !== 44 && c !== 125) ? -1 : x;
}

/**
 * End (exclusive) of the endpoint object opening at s, by the native searches for its braces (rare characters, unlike
 * quotes). A brace inside a string would cut the text short; the cache only holds texts that parsed, and a text that
 * parses as one object from its `{` to a `}` is that whole object, so a wrong cut is never taken.
 */
function endpointEnd(t: string, s: number): number {
  let depth = 1;
  let pos = s + 1;
  for (;;) {
    const close = t.indexOf('}', pos);
    if (close === -1) return -1;
    const open = t.indexOf('{', pos);
    if (open !== -1 && open < close) {
      depth++;
      pos = open + 1;
    } else if (--depth === 0) return close + 1;
    else pos = close + 1;
  }
}

/**
 * Endpoint texts → parsed endpoints. Keyed by a cheap fingerprint (length and a few characters) and confirmed by
 * comparing the whole text, so a line's endpoint is neither copied nor hashed in full.
 */
class EndpointCache {
  private readonly buckets = new Map<number, { text: string; ep: HubbleEndpoint }[]>();
  private size = 0;

  /** The endpoint t[s, e) parses to; undefined when it is not one JSON object. */
  get(t: string, s: number, e: number): HubbleEndpoint | undefined {
    const len = e - s;
    let h = len;
    // The tail holds the pod name and the last label; the head the ID and identity numbers.
    for (let k = Math.max(s, e - 24); k < e; k++) h = (Math.imul(h, 31) + t.charCodeAt(k)) | 0;
    for (let k = s + 1, m = Math.min(e, s + 40); k < m; k++) h = (Math.imul(h, 31) + t.charCodeAt(k)) | 0;
    const bucket = this.buckets.get(h);
    // A slice shares the line's characters; comparing it is a native compare (startsWith walks them one by one).
    const text = t.slice(s, e);
    if (bucket !== undefined) {
      for (const c of bucket) if (c.text === text) return c.ep;
    }
    let ep: HubbleEndpoint;
    try {
      ep = JSON.parse(text) as HubbleEndpoint;
    } catch {
      return undefined;
    }
    if (ep === null || typeof ep !== 'object' || Array.isArray(ep)) return undefined;
    if (this.size < 50_000) {
      this.size++;
      if (bucket !== undefined) bucket.push({ text, ep });
      else this.buckets.set(h, [{ text, ep }]);
    }
    return ep;
  }
}

/** End (exclusive) of the object opening at s (in a line without backslashes); -1 when it does not close. */
function objectEnd(t: string, s: number): number {
  let depth = 0;
  const n = t.length;
  for (let k = s; k < n; k++) {
    const c = t.charCodeAt(k);
    if (c === 34) {
      k = t.indexOf('"', k + 1);
      if (k === -1) return -1;
    } else if (c === 123 || c === 91) depth++;
    else if ((c === 125 || c === 93) && --depth === 0) return k + 1;
  }
  return -1;
}

/**
 * `Date.parse` for RFC 3339 UTC times, remembering the last whole second: consecutive flows share it, and only the
 * whole second is kept. Anything but `YYYY-MM-DDTHH:MM:SS[.digits]Z` goes to `Date.parse` as before.
 */
class TimeParser {
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
    const endpoints = new EndpointCache();
    const keyOf = new WeakMap<HubbleEndpoint, string>();
    const seconds = new TimeParser();
    const flagSets = new Map<string, Record<string, boolean>>();

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
      // Endpoints the fast path shares between lines keep their key, built once.
      let cacheKey = keyOf.get(ep);
      if (cacheKey === undefined) {
        cacheKey = ep.pod_name ? `${ep.namespace ?? ''}/${ep.pod_name}/${ep.identity ?? ''}/${ep.workloads?.[0]?.name ?? ''}` : '';
        keyOf.set(ep, cacheKey);
      }
      const cached = cacheKey !== '' ? named.get(cacheKey) : undefined;
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
        if (cacheKey !== '' && named.size < 100_000) named.set(cacheKey, { id, learnIp: !reserved, lastIp: ip });
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
        let o: any = fastFlow(text, endpoints, flagSets);
        if (o === undefined) {
          try {
            o = JSON.parse(text);
          } catch (e) {
            ctx.issue({ line: lineNo, reason: 'bad-json', detail: (e as Error).message });
            return;
          }
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
        if (!isIP(srcIp) || !isIP(dstIp)) {
          ctx.issue({ line: lineNo, reason: 'bad-address', detail: `${srcIp} -> ${dstIp}` });
          return;
        }
        const ms = seconds.parse(fl.time ?? o.time);
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
        if (!isPort(srcPort) || !isPort(dstPort)) {
          ctx.issue({ line: lineNo, reason: 'bad-port', detail: `${String(srcPort)} -> ${String(dstPort)}` });
          return;
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
