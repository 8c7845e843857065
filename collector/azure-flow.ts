import type { FlowRecord } from '../model/index.js';
import { canonicalIp, JsonEntries } from './gcp-vpc.js';
import type { FlowSource, LineHandler, ReadContext } from './source.js';

/**
 * Azure Network Watcher flow logs, as the storage account keeps them (`{"records":[…]}`, one blob per hour):
 * - NSG flow logs v2 (v1 too): `properties.flows[] {rule, flows[] {mac, flowTuples[]}}`, tuples
 *   `epochSeconds,src,dst,srcPort,dstPort,T|U,I|O,A|D,B|C|E,pktsSrcToDst,bytesSrcToDst,pktsDstToSrc,bytesDstToSrc`
 *   (v1 stops after the decision).
 * - VNet flow logs v4: `flowRecords.flows[] {aclID, flowGroups[] {rule, flowTuples[]}}`, tuples
 *   `epochMillis,src,dst,srcPort,dstPort,protocolNumber,I|O,B|C|E|D,encryption,pktsSrcToDst,bytesSrcToDst,pktsDstToSrc,bytesDstToSrc`;
 *   state D (deny) is the decision.
 *
 * Direction: the tuple's src is always the flow's initiator (the docs' counters are "source to destination" and
 * "destination to source"; the samples show inbound tuples from remote ephemeral ports to the VM's service port and
 * outbound ones from the VM's ephemeral port to 443), so the src → dst record is the client's side (`reply: false`)
 * and, when the destination sent anything, a dst → src record carries the server's side (`reply: true`), as Zeek's
 * connections do. Denied (decision D / state D) → REJECT, a denied edge; the deciding rule is counted in the notes
 * (`denied-by:<rule>`). B records have no counters (NSG: empty fields, VNet: zeros): they count as a flow with 0
 * packets. Times are whole seconds (VNet milliseconds are divided; a value above 1e11 is taken as milliseconds).
 *
 * The observer is the rule scope and the NIC: `nsg:<NSG resource id>/<mac>` or `acl:<aclID>/<mac>`, so a flow one
 * NIC's subnet NSG and NIC NSG both log is kept once, not doubled.
 *
 * Reasons (ctx.issue, `line` = the tuple's line when the file has one tuple per line, else the record's):
 * `bad-json`, `not-a-flow` (a record without flow tuples: another category), `bad-tuple` (field count),
 * `bad-address`, `bad-number`, `bad-value` (protocol / direction / decision / state outside the documented values).
 */

const PROTO_LETTER: Record<string, number> = { T: 6, U: 17 };

function uint(s: string | undefined, max: number): number {
  if (s === undefined || s === '') return 0;
  if (!/^\d+$/.test(s)) return NaN;
  const n = Number(s);
  return n <= max ? n : NaN;
}

class AzureFlowReader implements LineHandler {
  private readonly entries: JsonEntries;

  constructor(private readonly ctx: ReadContext, private readonly emit: (r: FlowRecord) => void) {
    this.entries = new JsonEntries(2, (o, line, raw) => this.record(o, line, raw), (line, detail) => ctx.issue({ line, reason: 'bad-json', detail }));
  }

  line(text: string, lineNo: number): void {
    if (text.length !== 0) this.entries.line(text, lineNo);
  }

  end(): void {
    this.entries.end();
  }

  private record(o: any, line: number, raw: string): void {
    const at = (tuple: string) => {
      const i = raw.indexOf(`"${tuple}"`);
      if (i < 0) return line;
      let n = line;
      for (let j = raw.indexOf('\n'); j !== -1 && j < i; j = raw.indexOf('\n', j + 1)) n++;
      return n;
    };
    let tuples = 0;
    const nsg = o?.properties?.flows;
    if (Array.isArray(nsg)) {
      const scope = `nsg:${String(o.resourceId ?? '').toLowerCase()}`;
      for (const rule of nsg) {
        for (const f of Array.isArray(rule?.flows) ? rule.flows : []) {
          const observer = `${scope}/${String(f?.mac ?? '')}`;
          for (const t of Array.isArray(f?.flowTuples) ? f.flowTuples : []) {
            tuples++;
            this.tuple(String(t), false, String(rule.rule ?? ''), observer, at);
          }
        }
      }
    }
    const vnet = o?.flowRecords?.flows;
    if (Array.isArray(vnet)) {
      const mac = String(o.macAddress ?? '');
      for (const acl of vnet) {
        const observer = `acl:${String(acl?.aclID ?? '')}/${mac}`;
        for (const g of Array.isArray(acl?.flowGroups) ? acl.flowGroups : []) {
          for (const t of Array.isArray(g?.flowTuples) ? g.flowTuples : []) {
            tuples++;
            this.tuple(String(t), true, String(g.rule ?? ''), observer, at);
          }
        }
      }
    }
    if (tuples === 0 && !Array.isArray(nsg) && !Array.isArray(vnet)) {
      this.ctx.issue({ line, reason: 'not-a-flow', detail: String(o?.category ?? o?.operationName ?? '') });
    }
  }

  private tuple(t: string, vnet: boolean, rule: string, observer: string, at: (tuple: string) => number): void {
    const ctx = this.ctx;
    const f = t.split(',');
    const bad = (reason: string, detail: string) => ctx.issue({ line: at(t), reason, detail: `${detail}: ${t}` });
    if (vnet ? f.length !== 13 : f.length !== 13 && f.length !== 8) return bad('bad-tuple', `${f.length} fields`);
    const srcIp = canonicalIp(f[1]);
    const dstIp = canonicalIp(f[2]);
    if (!srcIp || !dstIp) return bad('bad-address', 'address');
    const time = uint(f[0], Number.MAX_SAFE_INTEGER);
    let srcPort = uint(f[3], 65535);
    let dstPort = uint(f[4], 65535);
    const protocol = PROTO_LETTER[f[5]] ?? uint(f[5], 255);
    const pkts = uint(f[9], Number.MAX_SAFE_INTEGER);
    const bytes = uint(f[10], Number.MAX_SAFE_INTEGER);
    const rpkts = uint(f[11], Number.MAX_SAFE_INTEGER);
    const rbytes = uint(f[12], Number.MAX_SAFE_INTEGER);
    if ([time, srcPort, dstPort, pkts, bytes, rpkts, rbytes].some(Number.isNaN) || f[0] === '') return bad('bad-number', 'number');
    if (Number.isNaN(protocol) || f[5] === '') return bad('bad-value', `protocol ${f[5]}`);
    const dir = f[6];
    if (dir !== 'I' && dir !== 'O') return bad('bad-value', `direction ${dir}`);
    let denied: boolean;
    if (vnet) {
      const state = f[7];
      if (state !== 'B' && state !== 'C' && state !== 'E' && state !== 'D') return bad('bad-value', `state ${state}`);
      denied = state === 'D';
    } else {
      const decision = f[7];
      if (decision !== 'A' && decision !== 'D') return bad('bad-value', `decision ${decision}`);
      if (f.length === 13 && f[8] !== 'B' && f[8] !== 'C' && f[8] !== 'E') return bad('bad-value', `state ${f[8]}`);
      denied = decision === 'D';
    }
    const seconds = time > 1e11 ? Math.floor(time / 1000) : time;
    if (protocol === 1 || protocol === 58) srcPort = dstPort = 0;
    if (denied) {
      const notes = (ctx.counts.notes ??= {});
      const key = `denied-by:${rule}`;
      notes[key] = (notes[key] ?? 0) + 1;
    }
    const action = denied ? 'REJECT' : 'ACCEPT';
    const direction = dir === 'I' ? 'ingress' : 'egress';
    ctx.counts.read++;
    this.emit({
      srcIp, dstIp, srcPort, dstPort, protocol, packets: pkts, bytes, start: seconds, end: seconds, action, direction, observer, reply: false,
    });
    if (rpkts > 0 || rbytes > 0) {
      this.emit({
        srcIp: dstIp, dstIp: srcIp, srcPort: dstPort, dstPort: srcPort, protocol, packets: rpkts, bytes: rbytes, start: seconds, end: seconds,
        action, direction: dir === 'I' ? 'egress' : 'ingress', observer, reply: true,
      });
    }
  }
}

export const azureFlow: FlowSource = {
  kind: 'flows',
  format: 'azure-flow',
  detect(head) {
    if (!head.trimStart().startsWith('{') || !/"records"\s*:\s*\[/.test(head)) return false;
    return /"flowTuples"\s*:/.test(head) || /"(NetworkSecurityGroupFlowEvent|FlowLogFlowEvent)"/.test(head) ||
      (/"flowRecords"\s*:/.test(head) && /"flowLogVersion"\s*:/.test(head));
  },
  open(ctx, emit) {
    return new AzureFlowReader(ctx, emit);
  },
};
