/**
 * The Hubble flow line read without `JSON.parse`: a validating single pass over the line's UTF-8 bytes that reads only
 * the fields the source uses. `JSON.parse` spends most of a ~1 KB line building objects nobody reads (ethernet,
 * event_type, Summary, HTTP headers, the endpoints' label arrays repeated on every line); this reads the line once,
 * byte by byte (a typed-array loop costs a third of a `charCodeAt` loop), and shares each distinct endpoint object
 * between lines (`EndpointCache`).
 *
 * The contract is exactness: when `scanFlow` returns a view, it is the view `viewOfParsed` makes of `JSON.parse(line)`
 * (`collector/hubble.test.ts` runs both over real and generated lines and compares them). So the scanner checks the
 * whole line against JSON's grammar (strings without control characters, valid escapes, numbers, literals, commas,
 * nesting, nothing after the value) and returns undefined, leaving the line to `JSON.parse`, whenever it is not sure:
 * an escape inside a key or inside a string it reads, a key it reads given twice, a field of an unusual type, two
 * protocols in `l4`, an address missing, a `flow` key that is not the first key, lines over 64K characters.
 */
import { TCP } from '../model/index.js';

/** A Hubble endpoint (`flow.proto` Endpoint), as identity attribution reads it. */
export interface HubbleEndpoint {
  ID?: number;
  identity?: number;
  namespace?: string;
  labels?: string[];
  pod_name?: string;
  workloads?: { name?: string; kind?: string }[];
}

/**
 * What one flow line says, as the source uses it. Built either by the scanner or from `JSON.parse`'s object
 * (`viewOfParsed`); `fl` below is the flow (`o.flow ?? o`), `o` the line's object.
 */
export interface FlowView {
  /** `fl.IP.source` / `fl.IP.destination`: non-empty strings. */
  srcIp: string;
  dstIp: string;
  /** Both addresses are dotted quads that `net.isIP` accepts (the scanner checked them): no need to ask again. */
  ipv4: boolean;
  /** `fl.time ?? o.time`. */
  time: unknown;
  /**
   * The scanner's reading of `time` as the source's `TimeParser` reads it (the whole second, in ms), when the time has
   * the usual form; NaN when it left that to the parser.
   */
  timeMs: number;
  /** `fl.verdict`, absent: undefined. */
  verdict: unknown;
  /** `fl.drop_reason_desc ?? fl.drop_reason`. */
  dropReason: unknown;
  /** From `fl.l4`: TCP 6, UDP 17, SCTP 132, ICMPv4 1, ICMPv6 58, none 0 (first present of that order). */
  protocol: number;
  /** The chosen protocol's `source_port ?? 0` / `destination_port ?? 0`; 0 without one. */
  srcPort: unknown;
  dstPort: unknown;
  /** TCP: the OR of the flag bits set true in `flags` (0 when none); undefined for other protocols. */
  tcpFlags: number | undefined;
  /** ICMP: `type ?? -1`; -1 for other protocols. */
  icmpType: unknown;
  /** `fl.is_reply ?? fl.reply` when a boolean. */
  reply: boolean | undefined;
  /** `fl.Type === 'L7'`. */
  l7: boolean;
  /** `fl.node_name ?? o.node_name ?? ''`. */
  node: unknown;
  /** `fl.destination_names`' non-empty strings, when it is an array holding any. */
  names: string[] | undefined;
  /** `fl.l7.dns` when its `ips` is an array and its `query` a string: the query, the string addresses, `Number(ttl ?? 0)`. */
  dnsQuery: string | undefined;
  dnsIps: string[] | undefined;
  dnsTtl: number;
  /** `fl.source` / `fl.destination` as parsed (the scanner shares one object per distinct endpoint text). */
  source: unknown;
  destination: unknown;
  /** The scanner's cache entries of source / destination (the reader keeps notes on them); undefined from parsing. */
  srcEntry: EndpointEntry | undefined;
  dstEntry: EndpointEntry | undefined;
}

/** TCP flag bits by name (`flagsObject` compares the names in place and uses the same bits). */
export const FLAG_BITS: Record<string, number> = { FIN: TCP.FIN, SYN: TCP.SYN, RST: TCP.RST, PSH: TCP.PSH, ACK: TCP.ACK, URG: TCP.URG };

/** The view of a `JSON.parse`d line, or why it is not a flow record: `not-a-flow` / `missing-address`. */
export function viewOfParsed(o: any): FlowView | 'not-a-flow' | 'missing-address' {
  const fl = o?.flow ?? o;
  if (!fl || typeof fl !== 'object' || (fl.verdict === undefined && fl.IP === undefined)) return 'not-a-flow';
  const srcIp = fl.IP?.source;
  const dstIp = fl.IP?.destination;
  if (typeof srcIp !== 'string' || typeof dstIp !== 'string' || !srcIp || !dstIp) return 'missing-address';
  const l4 = fl.l4 ?? {};
  let protocol = 0;
  let srcPort: unknown = 0;
  let dstPort: unknown = 0;
  let tcpFlags: number | undefined;
  let icmpType: unknown = -1;
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
  const dnsNames: unknown = fl.destination_names;
  let names: string[] | undefined;
  if (Array.isArray(dnsNames)) {
    for (const n of dnsNames) if (typeof n === 'string' && n) (names ??= []).push(n);
  }
  const dns = fl.l7?.dns;
  const withDns = dns && Array.isArray(dns.ips) && typeof dns.query === 'string';
  return {
    srcIp, dstIp, ipv4: false, time: fl.time ?? o.time, timeMs: NaN, verdict: fl.verdict, dropReason: fl.drop_reason_desc ?? fl.drop_reason,
    protocol, srcPort, dstPort, tcpFlags, icmpType,
    reply: typeof replyFlag === 'boolean' ? replyFlag : undefined,
    l7: fl.Type === 'L7', node: fl.node_name ?? o.node_name ?? '', names,
    dnsQuery: withDns ? dns.query : undefined,
    dnsIps: withDns ? (dns.ips as unknown[]).filter((ip): ip is string => typeof ip === 'string') : undefined,
    dnsTtl: withDns ? Number(dns.ttl ?? 0) : 0,
    source: fl.source, destination: fl.destination, srcEntry: undefined, dstEntry: undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The scanner. State of the line being read: its bytes (B, a 0 byte after the last one, so every loop stops there
// without a bounds check: 0 is valid nowhere in JSON text), the line (T) and whether it is all ASCII (byte offsets are
// then character offsets, and strings are sliced from the line itself).

const MAX_LINE = 1 << 16;
/**
 * `Buffer#utf8Write`, what `Buffer#write` calls after normalising its arguments (which costs more than the copy, for a
 * line). Not in the typings; `write` when a Node version lacks it.
 */
type Utf8Write = (this: Buffer, s: string, offset: number, length: number) => number;
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write;
let B: Buffer = Buffer.allocUnsafe(3 * 4096 + 1);
let T = '';
let ASCII = true;
/** Bounds of the last string read by `strValue` (the characters between the quotes), and the last number read. */
let VS = 0;
let VE = 0;
let NUM = 0;
/** The endpoint `endpoint` found. */
let EP: EndpointEntry | undefined;

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const K_FLOW = bytes('flow');
const K_TIME = bytes('time');
const K_TYPE = bytes('Type');
const K_REPLY = bytes('reply');
const K_SOURCE = bytes('source');
const K_VERDICT = bytes('verdict');
const K_IS_REPLY = bytes('is_reply');
const K_NODE_NAME = bytes('node_name');
const K_DESTINATION = bytes('destination');
const K_DROP_REASON = bytes('drop_reason');
const K_DROP_REASON_DESC = bytes('drop_reason_desc');
const K_DESTINATION_NAMES = bytes('destination_names');
const K_SOURCE_PORT = bytes('source_port');
const K_DESTINATION_PORT = bytes('destination_port');
const K_FLAGS = bytes('flags');
const K_ICMPV4 = bytes('ICMPv4');
const K_ICMPV6 = bytes('ICMPv6');
const K_SCTP = bytes('SCTP');
const K_QUERY = bytes('query');
const K_IPS = bytes('ips');
const K_TTL = bytes('ttl');
const K_DNS = bytes('dns');
const V_FORWARDED = bytes('FORWARDED');
const V_DROPPED = bytes('DROPPED');
const V_REDIRECTED = bytes('REDIRECTED');

/** Seen-bits of the flow's keys (a key the scanner reads, given twice, is left to parsing: the last one wins there). */
const S_TIME = 1;
const S_VERDICT = 2;
const S_IP = 4;
const S_L4 = 8;
const S_L7 = 16;
const S_SOURCE = 32;
const S_DESTINATION = 64;
const S_TYPE = 128;
const S_REPLY = 256;
const S_IS_REPLY = 512;
const S_NODE = 1024;
const S_NAMES = 2048;
const S_DROP = 4096;
const S_DROP_DESC = 8192;

function is(b: Uint8Array, s: number, k: Uint8Array): boolean {
  for (let j = 0; j < k.length; j++) if (b[s + j] !== k[j]) return false;
  return true;
}

function ws(b: Uint8Array, i: number): number {
  let c = b[i];
  while (c === 32 || c === 9 || c === 10 || c === 13) c = b[++i];
  return i;
}

/** Position after the escape sequence whose backslash is at i; -1 when JSON has no such escape. */
function escapeEnd(b: Uint8Array, i: number): number {
  const c = b[i + 1];
  if (c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) return i + 2;
  if (c !== 117) return -1;
  for (let k = i + 2; k < i + 6; k++) {
    const h = b[k];
    if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return -1;
  }
  return i + 6;
}

/** Position after the string whose opening quote is at i (any valid string, escapes included); -1 when invalid. */
function skipString(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[++i];
    // Most characters are lower-case letters (or UTF-8 bytes): past the quote, the backslash and the controls.
    if (c > 92) continue;
    if (c === 34) return i + 1;
    if (c < 32) return -1;
    if (c === 92) {
      i = escapeEnd(b, i) - 1;
      if (i < 0) return -1;
    }
  }
}

/**
 * A string the scanner reads, its opening quote at i: VS/VE bound its characters; returns the position after it.
 * -1 when it holds an escape (its text would need decoding: parsing does that) or is invalid.
 */
function strValue(b: Uint8Array, i: number): number {
  const s = i + 1;
  for (;;) {
    const c = b[++i];
    if (c > 92) continue;
    if (c === 34) break;
    if (c < 32 || c === 92) return -1;
  }
  VS = s;
  VE = i;
  return i + 1;
}

/**
 * A key, its opening quote at i: returns the position of its closing quote (VS is its first character). -1 when it
 * holds an escape: `"verd\u0069ct"` is the key `verdict` to a parser, so an escaped key is never passed over as unknown.
 */
function keyEnd(b: Uint8Array, i: number): number {
  VS = i + 1;
  for (;;) {
    const c = b[++i];
    if (c > 92) continue;
    if (c === 34) return i;
    if (c < 32 || c === 92) return -1;
  }
}

/** Position after a JSON number at i (any valid one); -1 when invalid. */
function skipNumber(b: Uint8Array, i: number): number {
  let c = b[i];
  if (c === 45) c = b[++i];
  if (c === 48) c = b[++i];
  else if (c >= 49 && c <= 57) do c = b[++i]; while (c >= 48 && c <= 57);
  else return -1;
  if (c === 46) {
    c = b[++i];
    if (!(c >= 48 && c <= 57)) return -1;
    do c = b[++i]; while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = b[++i];
    if (c === 43 || c === 45) c = b[++i];
    if (!(c >= 48 && c <= 57)) return -1;
    do c = b[++i]; while (c >= 48 && c <= 57);
  }
  return i;
}

/**
 * A number the scanner reads: a plain non-negative integer of at most 15 digits, its value in NUM. -1 for anything
 * else (fractions, exponents, signs, leading zeros: parsing decides those).
 */
function uintValue(b: Uint8Array, i: number): number {
  let c = b[i];
  if (c === 48) {
    c = b[i + 1];
    if ((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69) return -1;
    NUM = 0;
    return i + 1;
  }
  let x = 0;
  const s = i;
  while (c >= 48 && c <= 57) {
    x = x * 10 + (c - 48);
    c = b[++i];
  }
  if (i === s || i - s > 15 || c === 46 || c === 101 || c === 69) return -1;
  NUM = x;
  return i;
}

/** true / false at i: 1 / 0 (position after it in NUM); -1 otherwise. */
function boolValue(b: Uint8Array, i: number): number {
  if (b[i] === 116 && b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101) { NUM = i + 4; return 1; }
  if (b[i] === 102 && b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101) { NUM = i + 5; return 0; }
  return -1;
}

/** Position after the JSON value at i (validated, not read); -1 when invalid or nested deeper than 64. */
function skipValue(b: Uint8Array, i: number, depth: number): number {
  const c = b[i];
  if (c === 34) return skipString(b, i);
  if (c === 123) {
    if (depth > 64) return -1;
    i = ws(b, i + 1);
    if (b[i] === 125) return i + 1;
    for (;;) {
      if (b[i] !== 34) return -1;
      i = skipString(b, i);
      if (i < 0) return -1;
      if (b[i] !== 58) {
        i = ws(b, i);
        if (b[i] !== 58) return -1;
      }
      i = ws(b, i + 1);
      i = skipValue(b, i, depth + 1);
      if (i < 0) return -1;
      let d = b[i];
      if (d !== 44 && d !== 125) d = b[(i = ws(b, i))];
      if (d === 125) return i + 1;
      if (d !== 44) return -1;
      i = ws(b, i + 1);
    }
  }
  if (c === 91) {
    if (depth > 64) return -1;
    i = ws(b, i + 1);
    if (b[i] === 93) return i + 1;
    for (;;) {
      i = skipValue(b, i, depth + 1);
      if (i < 0) return -1;
      let d = b[i];
      if (d !== 44 && d !== 93) d = b[(i = ws(b, i))];
      if (d === 93) return i + 1;
      if (d !== 44) return -1;
      i = ws(b, i + 1);
    }
  }
  if (c === 116) return b[i + 1] === 114 && b[i + 2] === 117 && b[i + 3] === 101 ? i + 4 : -1;
  if (c === 102) return b[i + 1] === 97 && b[i + 2] === 108 && b[i + 3] === 115 && b[i + 4] === 101 ? i + 5 : -1;
  if (c === 110) return b[i + 1] === 117 && b[i + 2] === 108 && b[i + 3] === 108 ? i + 4 : -1;
  return skipNumber(b, i);
}

/**
 * After a member's value: past the `,` (and white space) to the next key, returning its position; or, at the object's
 * `}`, the bitwise complement of the position after it (negative); -2 ** 31 when neither (a syntax error).
 */
const NOT_JSON = -(2 ** 31);
function next(b: Uint8Array, i: number): number {
  let d = b[i];
  if (d !== 44 && d !== 125) d = b[(i = ws(b, i))];
  if (d === 44) {
    i++;
    return b[i] === 34 ? i : ws(b, i);
  }
  return d === 125 ? ~(i + 1) : NOT_JSON;
}

/** After a key's closing quote at i: past the `:` (and white space) to the value; -1 when there is no colon. */
function colon(b: Uint8Array, i: number): number {
  if (b[i + 1] === 58) {
    const c = b[i + 2];
    return c === 32 || c === 9 || c === 10 || c === 13 ? ws(b, i + 2) : i + 2;
  }
  i = ws(b, i + 1);
  return b[i] === 58 ? ws(b, i + 1) : -1;
}

/** The characters [s, e) of the line as a string; undefined when not ASCII on a line that is not all ASCII. */
function text(s: number, e: number): string | undefined {
  if (ASCII) return T.slice(s, e);
  const b = B;
  for (let k = s; k < e; k++) if (b[k] >= 128) return undefined;
  return B.toString('latin1', s, e);
}

/** Constant strings for the common verdicts (no allocation, and a Set lookup of a known string). */
function verdictText(s: number, e: number): string | undefined {
  const b = B;
  const n = e - s;
  if (n === 9 && is(b, s, V_FORWARDED)) return 'FORWARDED';
  if (n === 7 && is(b, s, V_DROPPED)) return 'DROPPED';
  if (n === 10 && is(b, s, V_REDIRECTED)) return 'REDIRECTED';
  return text(s, e);
}

/**
 * [s, e) as a string of its own: strings kept past the line (cached endpoints, interned names and addresses, records
 * waiting for the end of the file) must not be slices, which keep the whole read chunk alive. undefined when not ASCII.
 */
function ownText(s: number, e: number): string | undefined {
  if (!ASCII) {
    const b = B;
    for (let k = s; k < e; k++) if (b[k] >= 128) return undefined;
  }
  return B.toString('latin1', s, e);
}

/**
 * Node names, each one string (it keys maps downstream: hashed once, compared by pointer). Hubble Relay interleaves
 * many nodes, so by a hash of the bytes, the last few tried first.
 */
interface NodeName { bytes: Uint8Array; text: string }
const NODES = new Map<number, NodeName[]>();
let nodeCount = 0;

function sameBytes(b: Uint8Array, s: number, e: number, c: Uint8Array): boolean {
  const n = e - s;
  // Node names share long prefixes (the pool's): the last byte tells most apart.
  if (c.length !== n || c[n - 1] !== b[e - 1]) return false;
  for (let k = 0; k < n; k++) if (b[s + k] !== c[k]) return false;
  return true;
}

/** The last few names found, tried before hashing. */
const RECENT: NodeName[] = [];
let recentNext = 0;

function nodeText(s: number, e: number): string | undefined {
  const b = B;
  for (let j = 0; j < RECENT.length; j++) if (sameBytes(b, s, e, RECENT[j].bytes)) return RECENT[j].text;
  const found = nodeSlow(b, s, e);
  if (found !== undefined) RECENT[recentNext++ & 3] = found;
  return found?.text;
}

function nodeSlow(b: Uint8Array, s: number, e: number): NodeName | undefined {
  let h = e - s;
  for (let k = s; k < e; k++) h = (Math.imul(h, 31) + b[k]) | 0;
  let bucket = NODES.get(h);
  if (bucket !== undefined) {
    for (let j = 0; j < bucket.length; j++) if (sameBytes(b, s, e, bucket[j].bytes)) return bucket[j];
  }
  const t = ownText(s, e);
  if (t === undefined) return undefined;
  // A copy (Buffer#slice would be a view of B).
  const entry = { bytes: Uint8Array.from(b.subarray(s, e)), text: t };
  if (nodeCount >= 4096) {
    NODES.clear();
    nodeCount = 0;
    bucket = undefined;
  }
  if (bucket === undefined) NODES.set(h, [entry]);
  else bucket.push(entry);
  nodeCount++;
  return entry;
}

/** `net.isIPv4` on the characters [s, e) (four decimal 0–255 without leading zeros, joined by dots): the address's value, or -1. */
function ipv4Value(b: Uint8Array, s: number, e: number): number {
  if (e - s < 7 || e - s > 15) return -1;
  let dots = 0;
  let digits = 0;
  let part = 0;
  let lead = 0;
  let value = 0;
  for (let k = s; k < e; k++) {
    const c = b[k];
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      digits = 0;
      part = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) lead = c;
      else if (lead === 48) return -1;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

/** IPv4 addresses by value, each one string of its own: an open-addressing table (keys + 1, 0 = empty). */
const IP_SLOTS = 1 << 16;
/** Allocated on first use (1 MB: not for a process that reads no Hubble). */
let ipKeys = new Float64Array(0);
let ipTexts: (string | undefined)[] = [];
let ipCount = IP_SLOTS;

/** The address string at [s, e) (a dotted quad's interned string); undefined when not ASCII. Sets NUM: 1 when IPv4. */
function ipText(b: Uint8Array, s: number, e: number): string | undefined {
  const value = ipv4Value(b, s, e);
  if (value < 0) {
    NUM = 0;
    return ownText(s, e);
  }
  NUM = 1;
  const key = value + 1;
  let slot = (Math.imul(value | 0, 0x9e3779b1) >>> 16) & (IP_SLOTS - 1);
  if (ipCount < IP_SLOTS >>> 1) {
    for (let k = ipKeys[slot]; k !== 0; k = ipKeys[slot]) {
      if (k === key) return ipTexts[slot];
      slot = (slot + 1) & (IP_SLOTS - 1);
    }
  } else {
    // Half full (or not made yet): start over (the strings already handed out stay valid).
    ipKeys = new Float64Array(IP_SLOTS);
    ipTexts = new Array<string | undefined>(IP_SLOTS).fill(undefined);
    ipCount = 0;
  }
  const t = B.toString('latin1', s, e);
  ipKeys[slot] = key;
  ipTexts[slot] = t;
  ipCount++;
  return t;
}

/** The last whole second read (`YYYY-MM-DDTHH:MM:SS`) and its time: consecutive flows share it. */
const SECOND = new Uint8Array(19);
let secondMs = NaN;

/**
 * The source's `TimeParser.parse` of the time at [s, e), from its bytes: for `YYYY-MM-DDTHH:MM:SS[.digits]Z`, the whole
 * second (`Date.parse` of the first 19 characters and `Z`); NaN for anything else (then the parser decides).
 */
function timeMs(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n < 20 || b[e - 1] !== 90 || b[s + 10] !== 84) return NaN;
  if (n > 20) {
    if (b[s + 19] !== 46 || n === 21) return NaN;
    for (let k = s + 20; k < e - 1; k++) if (b[k] < 48 || b[k] > 57) return NaN;
  }
  let k = 0;
  while (k < 19 && b[s + k] === SECOND[k]) k++;
  if (k === 19) return secondMs;
  // Byte offsets are character offsets only for ASCII.
  for (k = s; k < s + 19; k++) if (b[k] >= 128) return NaN;
  const ms = Date.parse(`${B.toString('latin1', s, s + 19)}Z`);
  if (!Number.isFinite(ms)) return NaN;
  SECOND.set(b.subarray(s, s + 19));
  secondMs = ms;
  return ms;
}

export interface EndpointEntry {
  /** The endpoint's text (bytes, for the native compare) and its parsed object. */
  bytes: Buffer;
  ep: HubbleEndpoint;
  /** The reader's own notes on this endpoint (what it worked out of it once). */
  aux: unknown;
}

/**
 * Endpoint texts → parsed endpoints, shared between lines. Keyed by a cheap fingerprint (length, first and last
 * bytes) and confirmed by comparing the whole text (a native compare). An endpoint is parsed once per distinct text,
 * by `JSON.parse`: the cached object is the one parsing the line would give.
 */
export class EndpointCache {
  private readonly buckets = new Map<number, EndpointEntry[]>();
  private size = 0;

  /** The endpoint text at [s, e) of the line being scanned, confirmed and parsed; undefined when it is not one JSON object. */
  get(s: number, e: number): EndpointEntry | undefined {
    const b = B;
    const len = e - s;
    let h = len;
    // The tail holds the pod name and the last label; the head the ID and identity numbers.
    for (let k = e - 16 > s ? e - 16 : s; k < e; k++) h = (Math.imul(h, 31) + b[k]) | 0;
    for (let k = s + 1, m = s + 17 < e ? s + 17 : e; k < m; k++) h = (Math.imul(h, 31) + b[k]) | 0;
    const bucket = this.buckets.get(h);
    if (bucket !== undefined) {
      // A native compare of the bytes: whatever the line's string representation (a slice of the read chunk,
      // usually), and nothing copied.
      for (let k = 0; k < bucket.length; k++) {
        const c = bucket[k];
        if (c.bytes.length === len && b.compare(c.bytes, 0, len, s, e) === 0) return c;
      }
    }
    // Only ASCII texts are kept, so equal bytes are equal characters.
    const copy = ownText(s, e);
    if (copy === undefined) return undefined;
    let ep: HubbleEndpoint;
    try {
      ep = JSON.parse(copy) as HubbleEndpoint;
    } catch {
      return undefined;
    }
    if (ep === null || typeof ep !== 'object' || Array.isArray(ep)) return undefined;
    const entry: EndpointEntry = { bytes: Buffer.from(copy, 'latin1'), ep, aux: undefined };
    if (this.size < 50_000 && (bucket === undefined || bucket.length < 8)) {
      this.size++;
      if (bucket !== undefined) bucket.push(entry);
      else this.buckets.set(h, [entry]);
    }
    return entry;
  }
}

/**
 * End (exclusive) of the endpoint object opening at s, by the native searches for its braces (rare characters) in the
 * line. A brace inside a string cuts the text short: such a text is never one JSON object, so the cache refuses it.
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

/** The endpoint object opening at i: EP is set; returns the position after it, -1 when not one. */
function endpoint(b: Uint8Array, i: number, cache: EndpointCache): number {
  const e = ASCII ? endpointEnd(T, i) : skipValue(b, i, 0);
  if (e === -1) return -1;
  EP = cache.get(i, e);
  return EP === undefined ? -1 : e;
}

/** The `flags` object of TCP at i: its bits in NUM; -1 unless every value is a boolean and no known flag repeats. */
function flagsObject(b: Uint8Array, i: number): number {
  let bits = 0;
  let seen = 0;
  i = ws(b, i + 1);
  if (b[i] === 125) { NUM = 0; return i + 1; }
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    const v = boolValue(b, i);
    if (v < 0) return -1;
    i = NUM;
    let bit = 0;
    if (kl === 3) {
      const c0 = b[ks], c1 = b[ks + 1], c2 = b[ks + 2];
      if (c0 === 70 && c1 === 73 && c2 === 78) bit = TCP.FIN;
      else if (c0 === 83 && c1 === 89 && c2 === 78) bit = TCP.SYN;
      else if (c0 === 82 && c1 === 83 && c2 === 84) bit = TCP.RST;
      else if (c0 === 80 && c1 === 83 && c2 === 72) bit = TCP.PSH;
      else if (c0 === 65 && c1 === 67 && c2 === 75) bit = TCP.ACK;
      else if (c0 === 85 && c1 === 82 && c2 === 71) bit = TCP.URG;
    }
    if (bit !== 0) {
      if (seen & bit) return -1;
      seen |= bit;
      if (v === 1) bits |= bit;
    }
    const n = next(b, i);
    if (n < 0) {
      if (n === NOT_JSON) return -1;
      NUM = bits;
      return ~n;
    }
    i = n;
  }
}

/** The protocol object (`TCP`, `UDP`, `SCTP`: ports, and flags for TCP; ICMP: type) at i, into v. */
function protocolObject(b: Uint8Array, i: number, v: FlowView, icmp: boolean): number {
  let seen = 0;
  i = ws(b, i + 1);
  if (b[i] === 125) return i + 1;
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    if (icmp) {
      if (kl === 4 && b[ks] === 116 && b[ks + 1] === 121 && b[ks + 2] === 112 && b[ks + 3] === 101) { // type
        if (seen & 1) return -1;
        seen |= 1;
        i = uintValue(b, i);
        v.icmpType = NUM;
      } else i = skipValue(b, i, 0);
    } else if (kl === 11 && is(b, ks, K_SOURCE_PORT)) {
      if (seen & 1) return -1;
      seen |= 1;
      i = uintValue(b, i);
      v.srcPort = NUM;
    } else if (kl === 16 && is(b, ks, K_DESTINATION_PORT)) {
      if (seen & 2) return -1;
      seen |= 2;
      i = uintValue(b, i);
      v.dstPort = NUM;
    } else if (kl === 5 && v.protocol === 6 && is(b, ks, K_FLAGS)) {
      if (seen & 4 || b[i] !== 123) return -1;
      seen |= 4;
      i = flagsObject(b, i);
      v.tcpFlags = NUM;
    } else i = skipValue(b, i, 0);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) return n === NOT_JSON ? -1 : ~n;
    i = n;
  }
}

/** The `l4` object at i: one protocol (two are left to parsing, which picks by precedence). */
function l4Object(b: Uint8Array, i: number, v: FlowView): number {
  i = ws(b, i + 1);
  if (b[i] === 125) return i + 1;
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    let proto = 0;
    if (kl === 3) {
      const c0 = b[ks], c1 = b[ks + 1], c2 = b[ks + 2];
      if (c0 === 84 && c1 === 67 && c2 === 80) proto = 6; // TCP
      else if (c0 === 85 && c1 === 68 && c2 === 80) proto = 17; // UDP
    } else if (kl === 4 && is(b, ks, K_SCTP)) proto = 132;
    else if (kl === 6) proto = is(b, ks, K_ICMPV4) ? 1 : is(b, ks, K_ICMPV6) ? 58 : 0;
    if (proto !== 0) {
      if (v.protocol !== 0 || b[i] !== 123) return -1;
      v.protocol = proto;
      if (proto === 6) v.tcpFlags = 0;
      i = protocolObject(b, i, v, proto === 1 || proto === 58);
    } else i = skipValue(b, i, 0);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) return n === NOT_JSON ? -1 : ~n;
    i = n;
  }
}

/** The `IP` object at i: source and destination (strings without escapes). */
function ipObject(b: Uint8Array, i: number, v: FlowView): number {
  let seen = 0;
  let v4 = true;
  i = ws(b, i + 1);
  if (b[i] === 125) return -1;
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    const src = kl === 6 && is(b, ks, K_SOURCE);
    if (src || (kl === 11 && is(b, ks, K_DESTINATION))) {
      const bit = src ? 1 : 2;
      if (seen & bit || b[i] !== 34) return -1;
      seen |= bit;
      i = strValue(b, i);
      if (i < 0 || VE === VS) return -1;
      const t = ipText(b, VS, VE);
      if (t === undefined) return -1;
      if (NUM === 0) v4 = false;
      if (src) v.srcIp = t;
      else v.dstIp = t;
    } else i = skipValue(b, i, 0);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) {
      if (n === NOT_JSON || seen !== 3) return -1;
      v.ipv4 = v4;
      return ~n;
    }
    i = n;
  }
}

/** An array at i whose strings are collected (other elements passed over); undefined when invalid or escaped. */
function stringArray(b: Uint8Array, i: number, keepEmpty: boolean): string[] | undefined {
  const out: string[] = [];
  i = ws(b, i + 1);
  if (b[i] === 93) { NUM = i + 1; return out; }
  for (;;) {
    if (b[i] === 34) {
      i = strValue(b, i);
      if (i < 0) return undefined;
      if (keepEmpty || VE > VS) {
        const t = text(VS, VE);
        if (t === undefined) return undefined;
        out.push(t);
      }
    } else {
      i = skipValue(b, i, 0);
      if (i < 0) return undefined;
    }
    let d = b[i];
    if (d !== 44 && d !== 93) d = b[(i = ws(b, i))];
    if (d === 93) { NUM = i + 1; return out; }
    if (d !== 44) return undefined;
    i = ws(b, i + 1);
  }
}

/** The `l7` object at i: its `dns` (query, ips, ttl) when an object; the rest (HTTP…) is only validated. */
function l7Object(b: Uint8Array, i: number, v: FlowView): number {
  let seen = 0;
  i = ws(b, i + 1);
  if (b[i] === 125) return i + 1;
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    if (kl === 3 && is(b, ks, K_DNS)) {
      if (seen) return -1;
      seen = 1;
      i = b[i] === 123 ? dnsObject(b, i, v) : skipValue(b, i, 0);
    } else i = skipValue(b, i, 0);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) return n === NOT_JSON ? -1 : ~n;
    i = n;
  }
}

function dnsObject(b: Uint8Array, i: number, v: FlowView): number {
  let seen = 0;
  let query: string | undefined;
  let ips: string[] | undefined;
  let ttl = 0;
  i = ws(b, i + 1);
  if (b[i] === 125) return i + 1;
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    const kl = e - ks;
    i = colon(b, e);
    if (i < 0) return -1;
    if (kl === 5 && is(b, ks, K_QUERY)) {
      if (seen & 1) return -1;
      seen |= 1;
      if (b[i] === 34) {
        i = strValue(b, i);
        if (i < 0 || (query = text(VS, VE)) === undefined) return -1;
      } else i = skipValue(b, i, 0);
    } else if (kl === 3 && is(b, ks, K_IPS)) {
      if (seen & 2) return -1;
      seen |= 2;
      if (b[i] === 91) {
        ips = stringArray(b, i, true);
        if (ips === undefined) return -1;
        i = NUM;
      } else i = skipValue(b, i, 0);
    } else if (kl === 3 && is(b, ks, K_TTL)) {
      if (seen & 4) return -1;
      seen |= 4;
      i = uintValue(b, i);
      ttl = NUM;
    } else i = skipValue(b, i, 0);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) {
      if (n === NOT_JSON) return -1;
      if (ips !== undefined && query !== undefined) {
        v.dnsQuery = query;
        v.dnsIps = ips;
        v.dnsTtl = ttl;
      }
      return ~n;
    }
    i = n;
  }
}

/** Reads one member of the flow (its key at [ks, ks+kl), its value at i) into v; returns the position after the value. */
function flowMember(b: Uint8Array, ks: number, kl: number, i: number, v: FlowView, cache: EndpointCache): number {
  const c = b[i];
  switch (kl) {
    case 2: {
      const k0 = b[ks], k1 = b[ks + 1];
      if (k0 === 73 && k1 === 80) { // IP
        if (SEEN & S_IP || c !== 123) return -1;
        SEEN |= S_IP;
        return ipObject(b, i, v);
      }
      if (k0 === 108 && k1 === 52) { // l4
        if (SEEN & S_L4 || c !== 123) return -1;
        SEEN |= S_L4;
        return l4Object(b, i, v);
      }
      if (k0 === 108 && k1 === 55) { // l7
        if (SEEN & S_L7) return -1;
        SEEN |= S_L7;
        return c === 123 ? l7Object(b, i, v) : skipValue(b, i, 0);
      }
      break;
    }
    case 4:
      if (is(b, ks, K_TIME)) {
        if (SEEN & S_TIME || c !== 34) return -1;
        SEEN |= S_TIME;
        i = strValue(b, i);
        if (i < 0 || (v.time = text(VS, VE)) === undefined) return -1;
        v.timeMs = timeMs(b, VS, VE);
        return i;
      }
      if (is(b, ks, K_TYPE)) {
        if (SEEN & S_TYPE || c !== 34) return -1;
        SEEN |= S_TYPE;
        const e = strValue(b, i);
        v.l7 = e === i + 4 && b[i + 1] === 76 && b[i + 2] === 55; // "L7"
        return e;
      }
      break;
    case 5:
    case 8:
      if (kl === 5 ? is(b, ks, K_REPLY) : is(b, ks, K_IS_REPLY)) {
        const bit = kl === 5 ? S_REPLY : S_IS_REPLY;
        if (SEEN & bit) return -1;
        SEEN |= bit;
        const r = boolValue(b, i);
        if (r < 0) return -1;
        // `is_reply ?? reply`: is_reply wins wherever it stands.
        if (kl === 8 || !(SEEN & S_IS_REPLY)) v.reply = r === 1;
        return NUM;
      }
      break;
    case 6:
    case 11:
      if (kl === 6 ? is(b, ks, K_SOURCE) : is(b, ks, K_DESTINATION)) {
        const bit = kl === 6 ? S_SOURCE : S_DESTINATION;
        if (SEEN & bit || c !== 123) return -1;
        SEEN |= bit;
        i = endpoint(b, i, cache);
        if (i < 0) return -1;
        if (kl === 6) {
          v.source = EP!.ep;
          v.srcEntry = EP;
        } else {
          v.destination = EP!.ep;
          v.dstEntry = EP;
        }
        return i;
      }
      if (kl === 11 && is(b, ks, K_DROP_REASON)) {
        if (SEEN & S_DROP) return -1;
        SEEN |= S_DROP;
        return dropValue(b, i, v, false);
      }
      break;
    case 7:
      if (is(b, ks, K_VERDICT)) {
        if (SEEN & S_VERDICT || c !== 34) return -1;
        SEEN |= S_VERDICT;
        i = strValue(b, i);
        return i < 0 || (v.verdict = verdictText(VS, VE)) === undefined ? -1 : i;
      }
      break;
    case 9:
      if (is(b, ks, K_NODE_NAME)) {
        if (SEEN & S_NODE || c !== 34) return -1;
        SEEN |= S_NODE;
        i = strValue(b, i);
        return i < 0 || (v.node = nodeText(VS, VE)) === undefined ? -1 : i;
      }
      break;
    case 16:
      if (is(b, ks, K_DROP_REASON_DESC)) {
        if (SEEN & S_DROP_DESC) return -1;
        SEEN |= S_DROP_DESC;
        return dropValue(b, i, v, true);
      }
      break;
    case 17:
      if (is(b, ks, K_DESTINATION_NAMES)) {
        if (SEEN & S_NAMES) return -1;
        SEEN |= S_NAMES;
        if (c !== 91) return skipValue(b, i, 0);
        const names = stringArray(b, i, false);
        if (names === undefined) return -1;
        if (names.length > 0) v.names = names;
        return NUM;
      }
      break;
  }
  return skipValue(b, i, 0);
}

/** `drop_reason_desc` (desc) / `drop_reason`: a string or plain integer; the description wins wherever it stands. */
function dropValue(b: Uint8Array, i: number, v: FlowView, desc: boolean): number {
  let value: string | number | undefined;
  if (b[i] === 34) {
    i = strValue(b, i);
    if (i < 0 || (value = text(VS, VE)) === undefined) return -1;
  } else {
    i = uintValue(b, i);
    if (i < 0) return -1;
    value = NUM;
  }
  if (desc || !(SEEN & S_DROP_DESC)) v.dropReason = value;
  return i;
}

/** Seen-bits of the flow object being read. */
let SEEN = 0;

function newView(): FlowView {
  return {
    srcIp: '', dstIp: '', ipv4: false, time: undefined, timeMs: NaN, verdict: undefined, dropReason: undefined, protocol: 0, srcPort: 0, dstPort: 0,
    tcpFlags: undefined, icmpType: -1, reply: undefined, l7: false, node: undefined, names: undefined, dnsQuery: undefined, dnsIps: undefined,
    dnsTtl: 0, source: undefined, destination: undefined, srcEntry: undefined, dstEntry: undefined,
  };
}

/** The view scanFlow fills: valid until its next call. */
const VIEW = newView();

/** The members of the flow object whose first key is at i, into v; returns the position after its `}`. */
function flowObject(b: Uint8Array, i: number, v: FlowView, cache: EndpointCache): number {
  for (;;) {
    if (b[i] !== 34) return -1;
    const e = keyEnd(b, i);
    if (e < 0) return -1;
    const ks = VS;
    i = colon(b, e);
    if (i < 0) return -1;
    i = flowMember(b, ks, e - ks, i, v, cache);
    if (i < 0) return -1;
    const n = next(b, i);
    if (n < 0) return n === NOT_JSON ? -1 : ~n;
    i = n;
  }
}

/**
 * The view of one line, or undefined: the line is left to `JSON.parse` (not JSON, not a flow, or not a shape read
 * here with certainty). The returned view is overwritten by the next call.
 */
export function scanFlow(line: string, cache: EndpointCache): FlowView | undefined {
  const len = line.length;
  if (len < 2 || len > MAX_LINE) return undefined;
  if (B.length <= 3 * len) B = Buffer.allocUnsafe(Math.max(3 * len + 1, 2 * B.length));
  const b = B;
  const n = utf8Write === undefined ? b.write(line, 0, 'utf8') : utf8Write.call(b, line, 0, b.length);
  b[n] = 0;
  T = line;
  ASCII = n === len;
  const v = VIEW;
  v.srcIp = '';
  v.dstIp = '';
  v.ipv4 = false;
  v.time = undefined;
  v.timeMs = NaN;
  v.verdict = undefined;
  v.dropReason = undefined;
  v.protocol = 0;
  v.srcPort = 0;
  v.dstPort = 0;
  v.tcpFlags = undefined;
  v.icmpType = -1;
  v.reply = undefined;
  v.l7 = false;
  v.node = undefined;
  v.names = undefined;
  v.dnsQuery = undefined;
  v.dnsIps = undefined;
  v.dnsTtl = 0;
  v.source = undefined;
  v.destination = undefined;
  v.srcEntry = undefined;
  v.dstEntry = undefined;
  SEEN = 0;

  let i = ws(b, 0);
  if (b[i] !== 123) return undefined;
  i = ws(b, i + 1);
  if (b[i] !== 34) return undefined;
  let e = keyEnd(b, i);
  if (e < 0) return undefined;
  if (e - VS === 4 && is(b, VS, K_FLOW)) {
    // The envelope: `{"flow": {…}, "node_name", "time"}`. The flow's own time / node name win (`fl.time ?? o.time`).
    i = colon(b, e);
    if (i < 0 || b[i] !== 123) return undefined;
    i = ws(b, i + 1);
    if (b[i] !== 125) {
      i = flowObject(b, i, v, cache);
      if (i < 0) return undefined;
    } else i++;
    let topTime: string | undefined;
    let topMs = NaN;
    let topNode: string | undefined;
    let seen = 0;
    for (;;) {
      i = next(b, i);
      if (i < 0) {
        if (i === NOT_JSON) return undefined;
        i = ~i;
        break;
      }
      if (b[i] !== 34) return undefined;
      e = keyEnd(b, i);
      if (e < 0) return undefined;
      const ks = VS;
      const kl = e - ks;
      i = colon(b, e);
      if (i < 0) return undefined;
      if (kl === 4 && is(b, ks, K_FLOW)) return undefined;
      // The envelope's time and node name are fallbacks: passed over (validated) when the flow has its own.
      if (kl === 4 && is(b, ks, K_TIME) && v.time === undefined) {
        if (seen & 1 || b[i] !== 34) return undefined;
        seen |= 1;
        i = strValue(b, i);
        if (i < 0 || (topTime = text(VS, VE)) === undefined) return undefined;
        topMs = timeMs(b, VS, VE);
      } else if (kl === 9 && v.node === undefined && is(b, ks, K_NODE_NAME)) {
        if (seen & 2 || b[i] !== 34) return undefined;
        seen |= 2;
        i = strValue(b, i);
        if (i < 0 || (topNode = nodeText(VS, VE)) === undefined) return undefined;
      } else {
        i = skipValue(b, i, 0);
        if (i < 0) return undefined;
      }
    }
    if (v.time === undefined) {
      v.time = topTime;
      v.timeMs = topMs;
    }
    if (v.node === undefined) v.node = topNode;
  } else {
    // A bare flow; a `flow` key further on would make that the flow (left to parsing).
    for (;;) {
      const ks = VS;
      const kl = e - ks;
      i = colon(b, e);
      if (i < 0) return undefined;
      if (kl === 4 && is(b, ks, K_FLOW)) return undefined;
      i = flowMember(b, ks, kl, i, v, cache);
      if (i < 0) return undefined;
      i = next(b, i);
      if (i < 0) {
        if (i === NOT_JSON) return undefined;
        i = ~i;
        break;
      }
      if (b[i] !== 34) return undefined;
      e = keyEnd(b, i);
      if (e < 0) return undefined;
    }
  }
  if (ws(b, i) !== n || v.srcIp === '') return undefined;
  if (v.node === undefined) v.node = '';
  return v;
}
