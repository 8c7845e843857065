import ipaddr from 'ipaddr.js';
import type { FlowAction, FlowRecord } from '../model/index.js';
import type { FlowSource, LineHandler, ReadContext } from './source.js';

/**
 * AWS VPC Flow Logs, plain text: S3 objects (first line is a header naming the fields, in the custom format's
 * order) and CloudWatch Logs exports (no header, default version-2 layout).
 *
 * Reasons this source reports (ctx.issue; `line` is always set):
 * - `unknown-field`          header names fields we do not know (one issue naming them; they are ignored)
 * - `duplicate-field`        header names a field twice (the first column is used)
 * - `missing-required-field` header lacks a field a record needs; every line of the file is counted under it
 * - `bad-field-count`        record has a different number of fields than the header
 * - `bad-address`            an address is not IPv4/IPv6
 * - `bad-number`             port, protocol, counter, time or tcp-flags is not an integer in range
 * - `bad-value`              action, log-status or flow-direction outside the documented values
 * - `missing-value`          a required field is `-` on a record that is not NODATA/SKIPDATA
 * - `nodata`, `skipdata`     log-status NODATA/SKIPDATA: no flow to read (counted, not an error)
 *
 * Blank lines and a repeated header (concatenated objects) are passed over; a different header switches the layout.
 *
 * Not handled: lines prefixed by a CloudWatch export timestamp (the field reference does not document such a
 * prefix, so they are reported as `bad-field-count`, never guessed at).
 */

/** Every field of the AWS field reference, versions 2–10, so a header naming them is never "unknown". */
export const AWS_VPC_FIELDS: readonly string[] = [
  // v2 (the default format, in this order)
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes',
  'start', 'end', 'action', 'log-status',
  // v3
  'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr', 'pkt-dstaddr',
  // v4
  'region', 'az-id', 'sublocation-type', 'sublocation-id',
  // v5
  'pkt-src-aws-service', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path',
  // v7 (ECS)
  'ecs-cluster-arn', 'ecs-cluster-name', 'ecs-container-instance-arn', 'ecs-container-instance-id', 'ecs-container-id',
  'ecs-second-container-id', 'ecs-service-name', 'ecs-task-definition-arn', 'ecs-task-arn', 'ecs-task-id',
  // v8–v10 (newer than the copy of the reference in the fixtures; named in the current AWS field list)
  'reject-reason', 'resource-id', 'encryption-status',
];

const KNOWN = new Set(AWS_VPC_FIELDS);
const DEFAULT_FIELDS = AWS_VPC_FIELDS.slice(0, 14);
const DEFAULT_HEADER = DEFAULT_FIELDS.join(' ');

/**
 * What a record must carry to be a flow segmap can use. A flow without times cannot be attributed (pod IPs are
 * reused within minutes), without a protocol it cannot become a policy rule, and without an action it has no
 * verdict. So the docs' NAT-gateway custom formats (only instance-id, interface-id and the four addresses) are
 * skipped and counted under `missing-required-field`: inventing times, protocol or ACCEPT would paper over a gap.
 * Ports, packets, bytes, tcp-flags, direction and observer are optional (0 / absent when not recorded).
 */
const REQUIRED: readonly (readonly string[])[] = [
  ['srcaddr', 'pkt-srcaddr'], ['dstaddr', 'pkt-dstaddr'], ['protocol'], ['start'], ['end'], ['action'],
];

/** Column of each field we read, -1 when the format does not have it. */
interface Layout {
  fields: number;
  header: string;
  src: number;
  dst: number;
  pktSrc: number;
  pktDst: number;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  action: number;
  status: number;
  flags: number;
  direction: number;
  iface: number;
  instance: number;
  /** Names of required fields the header lacks; non-empty means no record can be read. */
  missing: string[];
}

function layoutOf(names: string[], header: string): Layout {
  const col = (name: string) => names.indexOf(name);
  return {
    fields: names.length,
    header,
    src: col('srcaddr'),
    dst: col('dstaddr'),
    pktSrc: col('pkt-srcaddr'),
    pktDst: col('pkt-dstaddr'),
    srcPort: col('srcport'),
    dstPort: col('dstport'),
    protocol: col('protocol'),
    packets: col('packets'),
    bytes: col('bytes'),
    start: col('start'),
    end: col('end'),
    action: col('action'),
    status: col('log-status'),
    flags: col('tcp-flags'),
    direction: col('flow-direction'),
    iface: col('interface-id'),
    instance: col('instance-id'),
    missing: REQUIRED.filter((alts) => !alts.some((a) => names.includes(a))).map((alts) => alts.join('|')),
  };
}

const DEFAULT_LAYOUT = layoutOf(DEFAULT_FIELDS, DEFAULT_HEADER);

/** Space-separated tokens; runs of spaces count as one (the docs' own examples contain a double space). */
function tokens(text: string): string[] {
  return text.split(' ').filter((t) => t.length > 0);
}

/**
 * A header: field-shaped words, at least half of them fields AWS defines (a stray unknown one is reported, not fatal).
 * Record values are never all lowercase words, so this cannot take a record for a header.
 */
function isHeader(text: string, minKnown = 1): boolean {
  const names = tokens(text);
  if (!names.every((n) => /^[a-z][a-z0-9-]*$/.test(n))) return false;
  const known = names.filter((n) => KNOWN.has(n)).length;
  return known >= minKnown && known * 2 >= names.length;
}

const ABSENT = -1;
const BAD = -2;

/** Unsigned decimal in text[s, e): the value, ABSENT for `-`, BAD otherwise. */
function uint(t: string, s: number, e: number): number {
  const len = e - s;
  if (len === 1 && t.charCodeAt(s) === 45) return ABSENT;
  if (len === 0 || len > 16) return BAD;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = t.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return BAD;
    v = v * 10 + d;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : BAD;
}

/** Dotted quad without leading zeros (`010.0.0.1` is ambiguous: octal to some tools). */
function isIPv4(t: string, s: number, e: number): boolean {
  let dots = 0;
  let digits = 0;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      digits = 0;
      v = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || (digits === 1 && v === 0)) return false;
    v = v * 10 + d;
    digits++;
    if (v > 255) return false;
  }
  return dots === 3 && digits > 0;
}

/** Canonical (RFC 5952) IPv6, so it matches pod IPs as Kubernetes prints them; IPv4-mapped becomes IPv4. */
function canonicalIPv6(v: string): string | undefined {
  if (v.indexOf(':') === -1 || v.indexOf('%') !== -1 || !ipaddr.IPv6.isValid(v)) return undefined;
  const a = ipaddr.IPv6.parse(v);
  return a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : a.toRFC5952String();
}

function isDash(t: string, s: number, e: number): boolean {
  return e - s === 1 && t.charCodeAt(s) === 45;
}

/** text[s, e) === lit, without slicing. */
function eq(t: string, s: number, e: number, lit: string): boolean {
  if (e - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (t.charCodeAt(s + i) !== lit.charCodeAt(i)) return false;
  return true;
}

function shown(v: string): string {
  return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
}

/** One reader per input. A class, so the hot `line` path is one monomorphic method with preallocated state. */
class AwsVpcReader implements LineHandler {
  private layout: Layout | undefined;
  /** Start and end offset of each field of the current line; sized to the layout. */
  private st = new Int32Array(0);
  private en = new Int32Array(0);
  /** IPv6 text → canonical form; parsing IPv6 costs far more than a lookup. */
  private v6 = new Map<string, string>();
  private reason = '';
  private detail = '';
  private headerLine = 1;
  /** CloudWatch Logs exports to S3 put each event's ISO timestamp before the record. */
  private timestampPrefix = false;

  constructor(private readonly ctx: ReadContext, private readonly emit: (r: FlowRecord) => void) {}

  line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    if (this.timestampPrefix || (this.layout === undefined && timestampPrefixed(text))) {
      this.timestampPrefix = true;
      const sp = text.indexOf(' ');
      text = sp === -1 ? '' : text.slice(sp + 1);
    }
    const layout = this.layout ?? this.begin(text, lineNo);
    if (layout === undefined) return;
    if (layout.missing.length > 0) {
      // Records here start with a digit, `-` or an ID; only a line starting with a letter can be a new header.
      const c = text.charCodeAt(0);
      if (c >= 97 && c <= 122 && isHeader(text)) return this.useHeader(text, lineNo);
      this.ctx.issue({ line: lineNo, reason: 'missing-required-field', detail: `record not read: see the header at line ${this.headerLine}` });
      return;
    }
    // Concatenated S3 objects repeat their header.
    if (text === layout.header) return;
    const r = this.parse(text, layout);
    if (r !== undefined) {
      this.ctx.counts.read++;
      this.emit(r);
    } else if (this.reason === 'nodata' || this.reason === 'skipdata') {
      this.ctx.issue({ line: lineNo, reason: this.reason });
    } else if (this.reason !== '') {
      // Concatenated objects of another custom format: switch layouts instead of failing every record.
      if (isHeader(text)) this.useHeader(text, lineNo);
      else this.ctx.issue({ line: lineNo, reason: this.reason, detail: this.detail });
    }
  }

  /** First non-empty line: a header, or the first record of a headerless (default-format) export. */
  private begin(text: string, lineNo: number): Layout | undefined {
    if (isHeader(text)) {
      this.useHeader(text, lineNo);
      return undefined;
    }
    return this.use(DEFAULT_LAYOUT);
  }

  private use(layout: Layout): Layout {
    this.layout = layout;
    this.st = new Int32Array(layout.fields);
    this.en = new Int32Array(layout.fields);
    return layout;
  }

  private useHeader(text: string, lineNo: number): void {
    this.headerLine = lineNo;
    const names = tokens(text);
    const unknown = names.filter((n) => !KNOWN.has(n));
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    if (unknown.length > 0) {
      this.ctx.issue({ line: lineNo, reason: 'unknown-field', detail: `ignored: ${[...new Set(unknown)].join(', ')}` });
    }
    if (dup.length > 0) {
      this.ctx.issue({ line: lineNo, reason: 'duplicate-field', detail: `first column used: ${[...new Set(dup)].join(', ')}` });
    }
    const layout = this.use(layoutOf(names, text));
    if (layout.missing.length > 0) {
      this.ctx.issue({ line: lineNo, reason: 'missing-required-field', detail: `header lacks ${layout.missing.join(', ')}; no record can be read` });
    }
  }

  private fail(reason: string, detail: string): undefined {
    this.reason = reason;
    this.detail = detail;
    return undefined;
  }

  /** The record, or undefined with `reason` set (empty reason: a line to pass over silently). */
  private parse(t: string, L: Layout): FlowRecord | undefined {
    const st = this.st;
    const en = this.en;
    const n = L.fields;
    const len = t.length;
    let k = 0;
    let i = 0;
    while (i < len) {
      let j = t.indexOf(' ', i);
      if (j === -1) j = len;
      if (j > i) {
        if (k < n) {
          st[k] = i;
          en[k] = j;
        }
        k++;
      }
      i = j + 1;
    }
    if (k !== n) return k === 0 ? this.fail('', '') : this.fail('bad-field-count', `expected ${n} fields, got ${k}`);

    if (L.status >= 0) {
      const s = st[L.status];
      const e = en[L.status];
      if (!eq(t, s, e, 'OK')) {
        if (eq(t, s, e, 'NODATA')) return this.fail('nodata', '');
        if (eq(t, s, e, 'SKIPDATA')) return this.fail('skipdata', '');
        return this.fail('bad-value', `log-status ${shown(t.slice(s, e))}`);
      }
    }

    let action: FlowAction;
    {
      const s = st[L.action];
      const e = en[L.action];
      if (eq(t, s, e, 'ACCEPT')) action = 'ACCEPT';
      else if (eq(t, s, e, 'REJECT')) action = 'REJECT';
      else if (isDash(t, s, e)) return this.fail('missing-value', 'action is -');
      else return this.fail('bad-value', `action ${shown(t.slice(s, e))}`);
    }

    const srcIp = this.address(t, L.pktSrc, L.src, 'srcaddr');
    if (srcIp === undefined) return undefined;
    const dstIp = this.address(t, L.pktDst, L.dst, 'dstaddr');
    if (dstIp === undefined) return undefined;

    const protocol = this.number(t, L.protocol, 'protocol', 255, true);
    if (protocol < 0) return undefined;
    const start = this.number(t, L.start, 'start', Number.MAX_SAFE_INTEGER, true);
    if (start < 0) return undefined;
    const end = this.number(t, L.end, 'end', Number.MAX_SAFE_INTEGER, true);
    if (end < 0) return undefined;
    let srcPort = this.number(t, L.srcPort, 'srcport', 65535, false);
    if (srcPort === BAD) return undefined;
    let dstPort = this.number(t, L.dstPort, 'dstport', 65535, false);
    if (dstPort === BAD) return undefined;
    const packets = this.number(t, L.packets, 'packets', Number.MAX_SAFE_INTEGER, false);
    if (packets === BAD) return undefined;
    const bytes = this.number(t, L.bytes, 'bytes', Number.MAX_SAFE_INTEGER, false);
    if (bytes === BAD) return undefined;
    const flags = this.number(t, L.flags, 'tcp-flags', 255, false);
    if (flags === BAD) return undefined;
    // ICMP has no ports: whatever sits in the port columns (type/code on some paths) must never become a policy port.
    if (protocol === 1 || protocol === 58) srcPort = dstPort = 0;

    let direction: 'ingress' | 'egress' | undefined;
    if (L.direction >= 0) {
      const s = st[L.direction];
      const e = en[L.direction];
      if (eq(t, s, e, 'ingress')) direction = 'ingress';
      else if (eq(t, s, e, 'egress')) direction = 'egress';
      else if (!isDash(t, s, e)) return this.fail('bad-value', `flow-direction ${shown(t.slice(s, e))}`);
    }

    let observer: string | undefined;
    if (L.iface >= 0 && !isDash(t, st[L.iface], en[L.iface])) observer = t.slice(st[L.iface], en[L.iface]);
    else if (L.instance >= 0 && !isDash(t, st[L.instance], en[L.instance])) observer = t.slice(st[L.instance], en[L.instance]);

    // One shape for every record keeps consumers' property access monomorphic.
    return {
      srcIp,
      dstIp,
      srcPort: srcPort < 0 ? 0 : srcPort,
      dstPort: dstPort < 0 ? 0 : dstPort,
      protocol,
      packets: packets < 0 ? 0 : packets,
      bytes: bytes < 0 ? 0 : bytes,
      start,
      end,
      action,
      tcpFlags: flags < 0 ? undefined : flags,
      direction,
      observer,
    };
  }

  /**
   * The packet-level address when recorded (the original endpoint behind a NAT gateway, transit gateway or EKS
   * pod networking), else the interface-level one. undefined with `reason` set when neither is usable.
   */
  private address(t: string, pktCol: number, col: number, name: string): string | undefined {
    let s = -1;
    let e = -1;
    let field = name;
    if (pktCol >= 0 && !isDash(t, this.st[pktCol], this.en[pktCol])) {
      s = this.st[pktCol];
      e = this.en[pktCol];
      field = `pkt-${name}`;
    } else if (col >= 0 && !isDash(t, this.st[col], this.en[col])) {
      s = this.st[col];
      e = this.en[col];
    }
    if (s < 0) return this.fail('missing-value', `${name} is -`);
    if (isIPv4(t, s, e)) return t.slice(s, e);
    const raw = t.slice(s, e);
    let v6 = this.v6.get(raw);
    if (v6 === undefined) {
      v6 = canonicalIPv6(raw);
      if (v6 === undefined) return this.fail('bad-address', `${field} ${shown(raw)}`);
      // Bounded, so memory stays flat whatever the file holds.
      if (this.v6.size >= 4096) this.v6.clear();
      this.v6.set(raw, v6);
    }
    return v6;
  }

  /** Integer field in [0, max]; ABSENT when the column is missing or `-` (a `missing-value` failure if required). */
  private number(t: string, col: number, name: string, max: number, required: boolean): number {
    if (col < 0) return ABSENT;
    const s = this.st[col];
    const e = this.en[col];
    const v = uint(t, s, e);
    if (v === BAD || v > max) {
      this.fail('bad-number', `${name} ${shown(t.slice(s, e))}`);
      return BAD;
    }
    if (v === ABSENT && required) {
      this.fail('missing-value', `${name} is -`);
      return BAD;
    }
    return v;
  }
}

const ISO_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2}) /;

/** `2026-11-01T10:00:00.000Z 2 123456789012 eni-…`: a CloudWatch Logs export line around a default-format record. */
function timestampPrefixed(line: string): boolean {
  return ISO_PREFIX.test(line) && isDefaultRecord(line.slice(line.indexOf(' ') + 1));
}

/** A default-format (v2) record: 14 fields, version 2, a documented action and log-status. */
function isDefaultRecord(line: string): boolean {
  const f = tokens(line);
  return (
    f.length === 14 &&
    f[0] === '2' &&
    (f[12] === 'ACCEPT' || f[12] === 'REJECT' || f[12] === '-') &&
    (f[13] === 'OK' || f[13] === 'NODATA' || f[13] === 'SKIPDATA')
  );
}

export const awsVpc: FlowSource = {
  kind: 'flows',
  format: 'aws-vpc',
  detect(head, path) {
    const nl = head.indexOf('\n');
    const first = (nl === -1 ? head : head.slice(0, nl)).replace(/\r$/, '');
    if (first.trim() === '') return /vpcflowlogs/i.test(path);
    // Two known names at least before claiming a file, so a one-word line of another format is not taken.
    return isHeader(first, 2) || isDefaultRecord(first) || timestampPrefixed(first);
  },
  open(ctx, emit) {
    return new AwsVpcReader(ctx, emit);
  },
};
