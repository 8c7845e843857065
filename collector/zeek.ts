import { isIP } from 'node:net';
import { countSkip, protocolNumber, type FlowRecord } from '../model/index.js';
import type { FlowSource, LineHandler, ReadContext } from './source.js';

/**
 * Zeek `conn.log` and `dns.log`, as TSV (the `#separator` / `#fields` header) or JSON lines.
 *
 * conn.log: one connection becomes two records, the originator's side (`reply: false`, `orig_pkts`, `orig_ip_bytes`)
 * and, when the responder sent anything, the responder's (`reply: true`). Zeek already decided who originated (its
 * `^` history flag marks a flip), so direction needs no port heuristic. ICMP's `orig_p`/`resp_p` are the ICMP type and
 * code, not ports: both become 0. Connection logs have no verdicts: every connection is recorded as allowed, even
 * attempts nobody answered (`S0`, `REJ`).
 *
 * dns.log: no flow records; each answer that is an address becomes DNS evidence naming it with the query, valid from
 * the answer's time for its TTL. CNAME answers are links of the chain, not addresses: passed over.
 *
 * Reasons (ctx.issue, `line` set): `bad-json`, `bad-field-count`, `missing-field` (a header without the columns a
 * record needs), `bad-address`, `bad-number`, `bad-time`, `unsupported-log` (another Zeek log: http, ssl…).
 */

const CONN_NEEDS = ['ts', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto'];
const DNS_NEEDS = ['ts', 'query', 'answers'];

type Get = (field: string) => string | undefined;
type Kind = 'conn' | 'dns' | 'other';

function kindOf(has: (f: string) => boolean, path?: string): Kind {
  if (path === 'conn' || (!path && has('conn_state'))) return 'conn';
  if (path === 'dns' || (!path && has('query') && has('answers'))) return 'dns';
  if (!path && has('id.orig_h') && has('proto') && has('orig_bytes')) return 'conn';
  return 'other';
}

function unescapeSeparator(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Zeek time: epoch seconds with a fraction, or ISO 8601 (JSON logs with `json_timestamps` set). */
function zeekTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v !== '' && Number.isFinite(n)) return n;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

export const zeek: FlowSource = {
  kind: 'flows',
  format: 'zeek',
  detect(head) {
    if (/^#separator /m.test(head) && /^#fields\t/m.test(head)) return /^#path\t(conn|dns)\s*$/m.test(head) || /^#fields\t.*id\.orig_h.*\t(conn_state|query)\t/m.test(head);
    const first = head.split('\n', 1)[0];
    return first.startsWith('{') && first.includes('"id.orig_h"') && first.includes('"uid"') && (first.includes('"conn_state"') || first.includes('"query"') || first.includes('"orig_bytes"'));
  },
  open(ctx: ReadContext, emit: (r: FlowRecord) => void): LineHandler {
    let sep = '\t';
    let fields: string[] | undefined;
    let col = new Map<string, number>();
    let path: string | undefined;
    let kind: Kind | undefined;
    let unset = '-';
    let empty = '(empty)';
    let setSep = ',';
    let reportedOther = false;

    const conn = (get: Get, lineNo: number) => {
      const src = get('id.orig_h');
      const dst = get('id.resp_h');
      if (!src || !dst || !isIP(src) || !isIP(dst)) return ctx.issue({ line: lineNo, reason: 'bad-address', detail: `${src} -> ${dst}` });
      const ts = zeekTime(get('ts'));
      if (ts === undefined) return ctx.issue({ line: lineNo, reason: 'bad-time', detail: get('ts') });
      const protoName = (get('proto') ?? '').toLowerCase();
      const protocol = protoName === 'icmp' ? (isIP(src) === 6 ? 58 : 1) : protocolNumber(protoName) ?? Number(get('ip_proto') ?? NaN);
      if (!Number.isInteger(protocol)) return ctx.issue({ line: lineNo, reason: 'bad-number', detail: `proto ${protoName}` });
      const portless = protocol === 1 || protocol === 58;
      const sp = portless ? 0 : Number(get('id.orig_p'));
      const dp = portless ? 0 : Number(get('id.resp_p'));
      if (!Number.isInteger(sp) || !Number.isInteger(dp) || sp < 0 || dp < 0 || sp > 65535 || dp > 65535) {
        return ctx.issue({ line: lineNo, reason: 'bad-number', detail: `ports ${get('id.orig_p')} ${get('id.resp_p')}` });
      }
      // Zeek's counts and intervals are unsigned: a negative or non-numeric one makes the record unreadable.
      let badNum: string | undefined;
      const num = (f: string) => {
        const v = get(f);
        const n = v === undefined ? 0 : Number(v);
        if (Number.isFinite(n) && n >= 0) return n;
        badNum ??= `${f} ${v}`;
        return 0;
      };
      const duration = num('duration');
      const origPkts = num('orig_pkts');
      const respPkts = num('resp_pkts');
      const origBytes = num('orig_ip_bytes') || num('orig_bytes');
      const respBytes = num('resp_ip_bytes') || num('resp_bytes');
      if (badNum !== undefined) return ctx.issue({ line: lineNo, reason: 'bad-number', detail: badNum });
      const start = Math.floor(ts);
      const end = Math.floor(ts + duration);
      ctx.counts.read++;
      emit({
        srcIp: src, dstIp: dst, srcPort: sp, dstPort: dp, protocol, packets: origPkts, bytes: origBytes,
        start, end, action: 'ACCEPT', reply: false,
      });
      if (respPkts > 0 || num('resp_bytes') > 0) {
        emit({
          srcIp: dst, dstIp: src, srcPort: dp, dstPort: sp, protocol, packets: respPkts, bytes: respBytes,
          start, end, action: 'ACCEPT', reply: true,
        });
      }
    };

    const dns = (get: Get, lineNo: number, answers: string[], ttls: string[]) => {
      const ts = zeekTime(get('ts'));
      if (ts === undefined) return ctx.issue({ line: lineNo, reason: 'bad-time', detail: get('ts') });
      ctx.counts.read++;
      const query = get('query');
      if (!query || !ctx.dns) return;
      answers.forEach((a, i) => {
        if (!isIP(a)) return;
        const ttl = Number(ttls[i] ?? 0);
        ctx.dns!({ ip: a, name: query.replace(/\.$/, ''), first: Math.floor(ts), last: Math.ceil(ts + (Number.isFinite(ttl) ? ttl : 0)) });
      });
    };

    const tsv = (text: string, lineNo: number) => {
      if (text.charCodeAt(0) === 35 /* # */) {
        if (text.startsWith('#separator ')) sep = unescapeSeparator(text.slice(11));
        else {
          const parts = text.split(sep);
          const key = parts[0];
          if (key === '#fields') {
            fields = parts.slice(1);
            col = new Map(fields.map((f, i) => [f, i]));
            kind = kindOf((f) => col.has(f), path);
            const need = kind === 'conn' ? CONN_NEEDS : kind === 'dns' ? DNS_NEEDS : [];
            const missing = need.filter((f) => !col.has(f));
            if (missing.length) {
              ctx.issue({ line: lineNo, reason: 'missing-field', detail: missing.join(',') });
              kind = 'other';
            }
          } else if (key === '#path') path = parts[1];
          else if (key === '#unset_field') unset = parts[1] ?? '-';
          else if (key === '#empty_field') empty = parts[1] ?? '(empty)';
          else if (key === '#set_separator') setSep = parts[1] ?? ',';
        }
        return;
      }
      if (!fields || !kind) return ctx.issue({ line: lineNo, reason: 'missing-field', detail: 'no #fields header before the first record' });
      if (kind === 'other') return other(lineNo);
      const parts = text.split(sep);
      if (parts.length !== fields.length) return ctx.issue({ line: lineNo, reason: 'bad-field-count', detail: `${parts.length} of ${fields.length}` });
      const get: Get = (f) => {
        const i = col.get(f);
        if (i === undefined) return undefined;
        const v = parts[i];
        return v === unset ? undefined : v;
      };
      if (kind === 'conn') conn(get, lineNo);
      else {
        const list = (f: string) => {
          const v = get(f);
          return v === undefined || v === empty ? [] : v.split(setSep);
        };
        dns(get, lineNo, list('answers'), list('TTLs'));
      }
    };

    const other = (lineNo: number) => {
      if (!reportedOther) ctx.issue({ line: lineNo, reason: 'unsupported-log', detail: `only conn and dns logs are read${path ? ` (this is ${path})` : ''}` });
      else countSkip(ctx.counts, 'unsupported-log');
      reportedOther = true;
    };

    const json = (text: string, lineNo: number) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(text) as Record<string, unknown>;
      } catch (e) {
        return ctx.issue({ line: lineNo, reason: 'bad-json', detail: (e as Error).message });
      }
      const k = kindOf((f) => f in o);
      const get: Get = (f) => (o[f] === undefined || o[f] === null ? undefined : String(o[f]));
      if (k === 'conn') {
        const missing = CONN_NEEDS.filter((f) => !(f in o));
        if (missing.length) return ctx.issue({ line: lineNo, reason: 'missing-field', detail: missing.join(',') });
        conn(get, lineNo);
      } else if (k === 'dns') {
        const arr = (f: string) => (Array.isArray(o[f]) ? (o[f] as unknown[]).map(String) : []);
        dns(get, lineNo, arr('answers'), arr('TTLs'));
      } else other(lineNo);
    };

    return {
      line(text, lineNo) {
        if (text.length === 0) return;
        if (text.charCodeAt(0) === 123 /* { */) json(text, lineNo);
        else tsv(text, lineNo);
      },
    };
  },
};
