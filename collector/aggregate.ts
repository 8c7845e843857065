import { emptyBatch, TCP, type AggregateBatch, type DnsEvidence, type FlowRecord } from '../model/index.js';

export interface AggregatorOptions {
  /** Time bucket width in seconds. Small enough for IP reuse within minutes to stay attributable. */
  bucketSeconds?: number;
  /** Flush to the store when this many distinct aggregates are held: memory stays flat whatever the file size. */
  maxEntries?: number;
}

export const DEFAULT_BUCKET_SECONDS = 300;

/** Linux's default ip_local_port_range starts here; clients pick their source port at or above it. */
const EPHEMERAL_MIN = 32768;

/**
 * Which of the two ports is the client's ephemeral port, when the record itself says so: the TCP handshake flags
 * first, then "one side in the ephemeral range, the other not". Returns the ports with the ephemeral one folded to
 * 0; when it cannot tell, both are kept and the analyzer decides with the cluster's listening ports.
 */
export function foldEphemeralPort(r: FlowRecord): [number, number] {
  const packed = foldedPorts(r);
  return [packed >>> 16, packed & 0xffff];
}

/** `foldEphemeralPort` packed as srcPort << 16 | dstPort (unsigned): the aggregator's hot path allocates nothing. */
function foldedPorts(r: FlowRecord): number {
  const sp = r.srcPort;
  const dp = r.dstPort;
  // The source knew the direction: the client's port is the ephemeral one.
  if (r.reply !== undefined && sp !== 0 && dp !== 0) return r.reply ? (sp << 16) >>> 0 : dp;
  if (r.protocol !== 6 && r.protocol !== 17 && r.protocol !== 132) return ((sp << 16) | dp) >>> 0;
  if (r.protocol === 6 && r.tcpFlags !== undefined && r.tcpFlags & TCP.SYN) return r.tcpFlags & TCP.ACK ? (sp << 16) >>> 0 : dp;
  if (sp >= EPHEMERAL_MIN && dp < EPHEMERAL_MIN && dp !== 0) return dp;
  if (dp >= EPHEMERAL_MIN && sp < EPHEMERAL_MIN && sp !== 0) return (sp << 16) >>> 0;
  return ((sp << 16) | dp) >>> 0;
}

const KEY_WORDS = 7; // src, dst, packed ports, bucket/protocol/action, observer id + address kinds, src / dst identity id + 1
const BUCKET_OFFSET = 1 << 20;
/** Flags in the observer word: the src / dst word is an id in the table of non-IPv4 addresses, not an IPv4 value. */
const SRC_NAMED = 1 << 30;
const DST_NAMED = 2 ** 31;
const OBSERVER_MASK = SRC_NAMED - 1;

/** A dotted quad as its 32-bit value, or -1. The parsers already validated it; this only avoids a table lookup. */
function ipv4Value(s: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 && part <= 255 ? value * 256 + part : -1;
}

function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * Folds records into IP-level aggregates (src, dst, ports, protocol, bucket, action, observer).
 *
 * This is the ingest hot path (millions of records a minute), so it is an open-addressing hash table over typed
 * arrays: an IPv4 address is its own 32-bit key word, other addresses and observers get small integer ids, and adding
 * a record allocates nothing. (A `Map` keyed by concatenated strings spent about 1 µs a record, most of ingest's time.)
 * Batches come out in columns (`AggregateBatch`), ready to insert or to transfer to another thread.
 */
export class FlowAggregator {
  private readonly bucketSeconds: number;
  private readonly maxEntries: number;
  private readonly capacity: number;
  private readonly keys: Uint32Array;
  private readonly used: Uint8Array;
  private readonly flows: Float64Array;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  private readonly flags: Uint16Array;
  private readonly first: Float64Array;
  private readonly last: Float64Array;
  /** Slots in use, in insertion order, so a drain visits only them. */
  private readonly order: Int32Array;
  private size = 0;
  private baseBucket: number | undefined;
  private ids = new Map<string, number>();
  private names: string[] = [];
  /** DNS evidence by `ip name`, its window widened as more answers come: few distinct pairs, so a Map is fine. */
  private dns = new Map<string, DnsEvidence>();
  records = 0;

  constructor(private readonly flush: (batch: AggregateBatch) => void, opts: AggregatorOptions = {}) {
    this.bucketSeconds = opts.bucketSeconds ?? DEFAULT_BUCKET_SECONDS;
    this.maxEntries = opts.maxEntries ?? 50_000;
    // Load factor at most 1/2 keeps probe chains short.
    let cap = 1024;
    while (cap < this.maxEntries * 2) cap *= 2;
    this.capacity = cap;
    this.keys = new Uint32Array(cap * KEY_WORDS);
    this.used = new Uint8Array(cap);
    this.flows = new Float64Array(cap);
    this.packets = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.flags = new Uint16Array(cap);
    this.first = new Float64Array(cap);
    this.last = new Float64Array(cap);
    this.order = new Int32Array(this.maxEntries);
  }

  add(r: FlowRecord): void {
    this.records++;
    const bucket = r.start - (r.start % this.bucketSeconds);
    if (this.baseBucket === undefined) this.baseBucket = bucket;
    const rel = (bucket - this.baseBucket) / this.bucketSeconds + BUCKET_OFFSET;
    if (rel < 0 || rel >= 2 * BUCKET_OFFSET) {
      // Ten years from the first record of the file: drain and re-base rather than overflow the key.
      this.drain();
      this.baseBucket = undefined;
      this.records--;
      return this.add(r);
    }
    let k0 = ipv4Value(r.srcIp);
    let k1 = ipv4Value(r.dstIp);
    let k4 = this.id(r.observer ?? '');
    if (k0 < 0) { k0 = this.id(r.srcIp); k4 += SRC_NAMED; }
    if (k1 < 0) { k1 = this.id(r.dstIp); k4 += DST_NAMED; }
    const k2 = foldedPorts(r);
    const k3 = (rel * 256 + r.protocol) * 2 + (r.action === 'ACCEPT' ? 1 : 0);
    const k5 = r.srcIdentity === undefined ? 0 : this.id(r.srcIdentity) + 1;
    const k6 = r.dstIdentity === undefined ? 0 : this.id(r.dstIdentity) + 1;
    const mask = this.capacity - 1;
    let h = Math.imul(k0, 0x9e3779b1) ^ Math.imul(k1, 0x85ebca6b) ^ Math.imul(k2, 0xc2b2ae35) ^ Math.imul(k3, 0x27d4eb2f) ^ Math.imul(k4, 0x165667b1)
      ^ Math.imul(k5, 0x2545f491) ^ Math.imul(k6, 0x61c88647);
    h ^= h >>> 15;
    let slot = h & mask;
    const keys = this.keys;
    for (;;) {
      if (this.used[slot] === 0) break;
      const o = slot * KEY_WORDS;
      if (keys[o] === k0 && keys[o + 1] === k1 && keys[o + 2] === k2 && keys[o + 3] === k3 && keys[o + 4] === k4
        && keys[o + 5] === k5 && keys[o + 6] === k6) {
        this.flows[slot]++;
        this.packets[slot] += r.packets;
        this.bytes[slot] += r.bytes;
        if (r.tcpFlags !== undefined) this.flags[slot] |= r.tcpFlags;
        if (r.start < this.first[slot]) this.first[slot] = r.start;
        if (r.end > this.last[slot]) this.last[slot] = r.end;
        return;
      }
      slot = (slot + 1) & mask;
    }
    const o = slot * KEY_WORDS;
    keys[o] = k0;
    keys[o + 1] = k1;
    keys[o + 2] = k2;
    keys[o + 3] = k3;
    keys[o + 4] = k4;
    keys[o + 5] = k5;
    keys[o + 6] = k6;
    if (k5 !== 0 || k6 !== 0) this.identities = true;
    this.used[slot] = 1;
    this.flows[slot] = 1;
    this.packets[slot] = r.packets;
    this.bytes[slot] = r.bytes;
    this.flags[slot] = r.tcpFlags ?? 0;
    this.first[slot] = r.start;
    this.last[slot] = r.end;
    this.order[this.size++] = slot;
    if (this.size >= this.maxEntries) this.drain();
  }

  private identities = false;

  /** DNS evidence travels with the next batch (flushed when many pairs are held). */
  addDns(d: DnsEvidence): void {
    const key = `${d.ip} ${d.name}`;
    const known = this.dns.get(key);
    if (!known) this.dns.set(key, { ...d });
    else {
      if (d.first < known.first) known.first = d.first;
      if (d.last > known.last) known.last = d.last;
    }
    if (this.dns.size >= this.maxEntries) this.drain();
  }

  /**
   * A small id per distinct string. The kept copy is made with Buffer so it never points into the parser's read chunk
   * (in V8 a slice can pin its whole parent string).
   */
  private id(s: string): number {
    const known = this.ids.get(s);
    if (known !== undefined) return known;
    const copy = Buffer.from(s, 'utf8').toString('utf8');
    const id = this.names.length;
    this.names.push(copy);
    this.ids.set(copy, id);
    return id;
  }

  /** Hand everything held to the store. Partial aggregates of one key across drains are summed by the store's query. */
  drain(): void {
    if (this.size === 0 && this.dns.size === 0) return;
    const b = emptyBatch(this.size);
    if (this.dns.size > 0) {
      b.dns = [...this.dns.values()];
      this.dns = new Map();
    }
    if (this.identities) {
      b.srcIdentity = new Uint32Array(this.size);
      b.dstIdentity = new Uint32Array(this.size);
    }
    const base = this.baseBucket ?? 0;
    // Batch-local name indexes: IPv4 values and table ids are numbers, so these lookups stay cheap.
    const v4 = new Map<number, number>();
    const named = new Map<number, number>();
    const v4Index = (v: number) => {
      let i = v4.get(v);
      if (i === undefined) v4.set(v, (i = b.names.push(ipv4Text(v)) - 1));
      return i;
    };
    const namedIndex = (id: number) => {
      let i = named.get(id);
      if (i === undefined) named.set(id, (i = b.names.push(this.names[id]) - 1));
      return i;
    };
    for (let i = 0; i < this.size; i++) {
      const slot = this.order[i];
      const o = slot * KEY_WORDS;
      const k3 = this.keys[o + 3];
      const k4 = this.keys[o + 4];
      b.src[i] = k4 & SRC_NAMED ? namedIndex(this.keys[o]) : v4Index(this.keys[o]);
      b.dst[i] = k4 >= DST_NAMED ? namedIndex(this.keys[o + 1]) : v4Index(this.keys[o + 1]);
      b.observer[i] = namedIndex(k4 & OBSERVER_MASK);
      b.srcPort[i] = this.keys[o + 2] >>> 16;
      b.dstPort[i] = this.keys[o + 2] & 0xffff;
      b.protocol[i] = (k3 >>> 1) & 255;
      b.accepted[i] = k3 & 1;
      b.bucket[i] = base + (Math.floor(k3 / 512) - BUCKET_OFFSET) * this.bucketSeconds;
      b.flows[i] = this.flows[slot];
      b.packets[i] = this.packets[slot];
      b.bytes[i] = this.bytes[slot];
      b.tcpFlags[i] = this.flags[slot];
      b.firstSeen[i] = this.first[slot];
      b.lastSeen[i] = this.last[slot];
      if (b.srcIdentity && b.dstIdentity) {
        const s5 = this.keys[o + 5];
        const s6 = this.keys[o + 6];
        b.srcIdentity[i] = s5 === 0 ? namedIndex(this.id('')) : namedIndex(s5 - 1);
        b.dstIdentity[i] = s6 === 0 ? namedIndex(this.id('')) : namedIndex(s6 - 1);
      }
      this.used[slot] = 0;
    }
    this.size = 0;
    this.identities = false;
    // Distinct addresses are few; drop the id table only if a scan-like input made it huge.
    if (this.names.length > 4 * this.maxEntries) {
      this.ids = new Map();
      this.names = [];
    }
    this.flush(b);
  }
}
