import pcapParser, { type GlobalHeader, type Packet, type PacketHeader, type StreamLike } from 'pcap-parser';
import { countSkip, TCP, type FlowRecord } from '../model/index.js';
import type { ChunkHandler, FlowSource, ReadContext } from './source.js';

/**
 * Packet captures (classic libpcap, microsecond and nanosecond, either byte order; pcapng is `pcapng.ts`, sharing
 * the packet decoding here). Packets become connection records: one per direction of a 5-tuple per second, with the
 * direction of the conversation decided once per connection — the SYN (or SYN-ACK) first, then well-known / ephemeral
 * ports, then "whoever spoke first" — and carried on every record as `reply`.
 *
 * Link types: Ethernet (with 802.1Q / QinQ tags), Linux cooked v1 (113) and v2 (276), raw IP (12, 14, 101, 228, 229),
 * BSD loopback (0). IPv4 and IPv6 (extension headers skipped); TCP, UDP, SCTP ports; ICMP echo direction. VXLAN
 * (UDP 4789) and Geneve (UDP 6081) are decapsulated: the outer node-to-node packet and the inner one are both recorded
 * (as Zeek does). DNS responses (UDP from port 53 or 5353) become DNS evidence: each A/AAAA answer names its address
 * with the question's name (through any CNAME chain) for its TTL.
 *
 * Not read, counted: non-IP frames (`not-ip`: ARP, LLDP…), non-first IP fragments (`ip-fragment`: no ports).
 * Reasons (ctx.issue, `offset` = byte offset in the decompressed capture): `bad-header`, `bad-record-length`,
 * `truncated-capture`, `unsupported-link-type`, `bad-packet` (an IP header that does not fit the frame).
 *
 * Classic microsecond captures are read by pcap-parser, fed chunk by chunk through a stand-in stream (it parses
 * synchronously inside its 'data' handler). It cannot read nanosecond captures (magic a1b23c4d): those go through the
 * small reader below.
 */

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const MAX_RECORD = 1 << 18;
const EPHEMERAL_MIN = 32768;
/** Ports a server listens on even though they are not below 1024 (tunnels, common services). */
const SERVICE_PORTS = new Set([4789, 6081, 8472, 5353, 1194, 1433, 1521, 2049, 2379, 2380, 3000, 3306, 4240, 5000, 5432, 5672, 6379, 6443, 8000,
  8080, 8443, 8888, 9000, 9042, 9080, 9090, 9092, 9200, 9300, 10250, 11211, 15000, 15001, 15006, 15020, 15090, 27017]);

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW12: 12, RAW14: 14, RAW: 101, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276 } as const;

interface Pending {
  rec: FlowRecord;
  conn: Conn;
  /** The record's source is the connection's `a` end. */
  fromA: boolean;
}

/** One conversation, keyed by its canonical 5-tuple. `clientIsA` says which end is the client. */
interface Conn { clientIsA: boolean; decidedBySyn: boolean }

function serverLike(port: number): boolean {
  return port !== 0 && (port < 1024 || SERVICE_PORTS.has(port));
}

/**
 * Frames → connection records (+ DNS evidence). Shared by the pcap and pcapng readers; `frame` takes the link type
 * per call, since pcapng interfaces each have their own.
 */
export class PacketDecoder {
  private readonly conns = new Map<string, Conn>();
  private pending = new Map<string, Pending>();
  private second = -1;
  private readonly reportedLinkTypes = new Set<number>();

  constructor(private readonly ctx: ReadContext, private readonly emit: (r: FlowRecord) => void) {}

  /** One captured frame: `buf[off, off+len)`, captured at `ts` (epoch seconds, fractional). `at` locates issues. */
  frame(linkType: number, buf: Buffer, off: number, len: number, ts: number, at: number): void {
    this.ctx.counts.read++;
    const sec = Math.floor(ts);
    if (sec !== this.second) {
      if (sec > this.second) this.flush();
      this.second = Math.max(this.second, sec);
    }
    const end = off + len;
    switch (linkType) {
      case LINKTYPE.ETHERNET: return this.ethernet(buf, off, end, sec, at, 0);
      case LINKTYPE.SLL: return len < 16 ? this.bad(at, 'short SLL header') : this.ethertype(buf.readUInt16BE(off + 14), buf, off + 16, end, sec, at, 0);
      case LINKTYPE.SLL2: return len < 20 ? this.bad(at, 'short SLL2 header') : this.ethertype(buf.readUInt16BE(off), buf, off + 20, end, sec, at, 0);
      case LINKTYPE.RAW: case LINKTYPE.RAW12: case LINKTYPE.RAW14: case LINKTYPE.IPV4: case LINKTYPE.IPV6:
        return this.ip(buf, off, end, sec, at, 0);
      case LINKTYPE.NULL: {
        if (len < 4) return this.bad(at, 'short loopback header');
        // The address family in the capturing host's byte order: 2 is IPv4; 24, 28, 30 are IPv6 on the BSDs.
        const fam = buf.readUInt32LE(off) > 0xffff ? buf.readUInt32BE(off) : buf.readUInt32LE(off);
        if (fam === 2 || fam === 24 || fam === 28 || fam === 30) return this.ip(buf, off + 4, end, sec, at, 0);
        return countSkip(this.ctx.counts, 'not-ip');
      }
      default:
        if (!this.reportedLinkTypes.has(linkType)) {
          this.reportedLinkTypes.add(linkType);
          this.ctx.issue({ offset: at, reason: 'unsupported-link-type', detail: `link type ${linkType}` });
        } else countSkip(this.ctx.counts, 'unsupported-link-type');
    }
  }

  private bad(at: number, detail: string): void {
    this.ctx.issue({ offset: at, reason: 'bad-packet', detail });
  }

  private ethernet(buf: Buffer, off: number, end: number, sec: number, at: number, depth: number): void {
    if (end - off < 14) return this.bad(at, 'short Ethernet header');
    let p = off + 12;
    let type = buf.readUInt16BE(p);
    // 802.1Q / 802.1ad tags.
    while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && p + 6 <= end) {
      p += 4;
      type = buf.readUInt16BE(p);
    }
    this.ethertype(type, buf, p + 2, end, sec, at, depth);
  }

  private ethertype(type: number, buf: Buffer, off: number, end: number, sec: number, at: number, depth: number): void {
    if (type === 0x0800 || type === 0x86dd) this.ip(buf, off, end, sec, at, depth);
    else countSkip(this.ctx.counts, 'not-ip');
  }

  private ip(buf: Buffer, off: number, end: number, sec: number, at: number, depth: number): void {
    if (end - off < 1) return this.bad(at, 'empty IP packet');
    const version = buf[off] >> 4;
    let src: string;
    let dst: string;
    let proto: number;
    let l4: number;
    let ipLen: number;
    if (version === 4) {
      if (end - off < 20) return this.bad(at, 'short IPv4 header');
      const ihl = (buf[off] & 15) * 4;
      ipLen = buf.readUInt16BE(off + 2);
      proto = buf[off + 9];
      src = `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
      dst = `${buf[off + 16]}.${buf[off + 17]}.${buf[off + 18]}.${buf[off + 19]}`;
      if ((buf.readUInt16BE(off + 6) & 0x1fff) !== 0) return countSkip(this.ctx.counts, 'ip-fragment');
      l4 = off + ihl;
      // A segmentation-offloaded capture records 0 as the total length.
      if (ipLen === 0) ipLen = end - off;
    } else if (version === 6) {
      if (end - off < 40) return this.bad(at, 'short IPv6 header');
      ipLen = buf.readUInt16BE(off + 4) + 40;
      proto = buf[off + 6];
      src = ipv6Text(buf, off + 8);
      dst = ipv6Text(buf, off + 24);
      l4 = off + 40;
      // Extension headers: hop-by-hop, routing, destination options; a fragment header ends the walk.
      while ((proto === 0 || proto === 43 || proto === 60 || proto === 44) && l4 + 8 <= end) {
        if (proto === 44) {
          if ((buf.readUInt16BE(l4 + 2) & 0xfff8) !== 0) return countSkip(this.ctx.counts, 'ip-fragment');
          proto = buf[l4];
          l4 += 8;
        } else {
          proto = buf[l4];
          l4 += (buf[l4 + 1] + 1) * 8;
        }
      }
    } else return this.bad(at, `IP version ${version}`);
    let sp = 0;
    let dp = 0;
    let flags = -1;
    let icmpType = -1;
    if ((proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
      sp = buf.readUInt16BE(l4);
      dp = buf.readUInt16BE(l4 + 2);
      if (proto === 6 && l4 + 14 <= end) flags = buf[l4 + 13] & 0x3f;
    } else if ((proto === 1 || proto === 58) && l4 < end) icmpType = buf[l4];
    this.record(src, dst, sp, dp, proto, ipLen, flags, icmpType, sec);
    if (proto === 17 && depth < 3 && l4 + 8 <= end) {
      const payload = l4 + 8;
      if (dp === 4789 || dp === 8472) {
        // VXLAN: 8-byte header, then the inner Ethernet frame.
        if (payload + 8 <= end) this.ethernet(buf, payload + 8, end, sec, at, depth + 1);
      } else if (dp === 6081) {
        // Geneve: 8 bytes plus options (length in 4-byte words), then the protocol its header names.
        if (payload + 8 <= end) {
          const optLen = (buf[payload] & 0x3f) * 4;
          const inner = buf.readUInt16BE(payload + 2);
          const q = payload + 8 + optLen;
          if (inner === 0x6558) this.ethernet(buf, q, end, sec, at, depth + 1);
          else this.ethertype(inner, buf, q, end, sec, at, depth + 1);
        }
      } else if ((sp === 53 || sp === 5353) && this.ctx.dns) {
        parseDnsResponse(buf, payload, end, sec, (ip, name, ttl) => this.ctx.dns!({ ip, name, first: sec, last: sec + ttl }));
      }
    }
  }

  private record(src: string, dst: string, sp: number, dp: number, proto: number, bytes: number, flags: number, icmpType: number, sec: number): void {
    const aFirst = src < dst || (src === dst && sp <= dp);
    const connKey = aFirst ? `${proto} ${src} ${sp} ${dst} ${dp}` : `${proto} ${dst} ${dp} ${src} ${sp}`;
    let conn = this.conns.get(connKey);
    const syn = flags >= 0 && (flags & TCP.SYN) !== 0;
    const synAck = syn && (flags & TCP.ACK) !== 0;
    if (!conn || (syn && !conn.decidedBySyn)) {
      // Which end is the client: the handshake, else the ports, else whoever spoke first.
      let senderIsClient = true;
      if (syn) senderIsClient = !synAck;
      else if (icmpType === 0 || icmpType === 129) senderIsClient = false;
      else if (icmpType === 8 || icmpType === 128) senderIsClient = true;
      else if (serverLike(dp) !== serverLike(sp)) senderIsClient = serverLike(dp);
      else if ((sp >= EPHEMERAL_MIN) !== (dp >= EPHEMERAL_MIN) && sp !== 0 && dp !== 0) senderIsClient = sp >= EPHEMERAL_MIN;
      const c: Conn = { clientIsA: senderIsClient === aFirst, decidedBySyn: syn };
      if (conn) Object.assign(conn, c);
      else this.conns.set(connKey, (conn = c));
    }
    const key = `${src} ${sp} ${dst} ${dp} ${proto} ${sec}`;
    const p = this.pending.get(key);
    if (p) {
      p.rec.packets++;
      p.rec.bytes += bytes;
      if (flags >= 0) p.rec.tcpFlags! |= flags;
      return;
    }
    const rec: FlowRecord = { srcIp: src, dstIp: dst, srcPort: sp, dstPort: dp, protocol: proto, packets: 1, bytes, start: sec, end: sec, action: 'ACCEPT' };
    if (flags >= 0) rec.tcpFlags = flags;
    this.pending.set(key, { rec, conn, fromA: aFirst });
  }

  /** Emit the records held for the current second; a connection's direction is final by then. */
  flush(): void {
    for (const p of this.pending.values()) {
      p.rec.reply = p.fromA !== p.conn.clientIsA;
      this.emit(p.rec);
    }
    this.pending = new Map();
    // Long captures: forget connections now and then (their direction is re-decided if they speak again).
    if (this.conns.size > 200_000) this.conns.clear();
  }
}

function ipv6Text(b: Buffer, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) parts.push(b.readUInt16BE(o + i * 2).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (parts[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return parts.join(':');
  return `${parts.slice(0, bestStart).join(':')}::${parts.slice(bestStart + bestLen).join(':')}`;
}

/** A DNS name at `o` (with compression pointers); returns the name and the offset after it, or undefined. */
function dnsName(b: Buffer, start: number, o: number, end: number): [string, number] | undefined {
  const labels: string[] = [];
  let after = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (o >= end) return undefined;
    const len = b[o];
    if (len === 0) return [labels.join('.').toLowerCase(), after >= 0 ? after : o + 1];
    if ((len & 0xc0) === 0xc0) {
      if (o + 1 >= end) return undefined;
      if (after < 0) after = o + 2;
      o = start + (((len & 0x3f) << 8) | b[o + 1]);
      continue;
    }
    if (o + 1 + len > end) return undefined;
    labels.push(b.toString('latin1', o + 1, o + 1 + len));
    o += 1 + len;
  }
  return undefined;
}

/** A/AAAA answers of a DNS response, each named with the question (CNAME chains followed). Damaged messages: ignored. */
export function parseDnsResponse(b: Buffer, start: number, end: number, _sec: number, answer: (ip: string, name: string, ttl: number) => void): void {
  if (end - start < 12) return;
  const flags = b.readUInt16BE(start + 2);
  if ((flags & 0x8000) === 0 || (flags & 0xf) !== 0) return; // a query, or an error response
  const qd = b.readUInt16BE(start + 4);
  const an = b.readUInt16BE(start + 6);
  let o = start + 12;
  let question: string | undefined;
  for (let i = 0; i < qd; i++) {
    const n = dnsName(b, start, o, end);
    if (!n) return;
    question ??= n[0];
    o = n[1] + 4;
  }
  // CNAME target → the name asked for, so an address at the end of a chain is named with the question.
  const alias = new Map<string, string>();
  const root = (n: string) => {
    for (let i = 0; i < 16 && alias.has(n); i++) n = alias.get(n)!;
    return n;
  };
  for (let i = 0; i < an; i++) {
    const n = dnsName(b, start, o, end);
    if (!n || n[1] + 10 > end) return;
    o = n[1];
    const type = b.readUInt16BE(o);
    const ttl = b.readUInt32BE(o + 4);
    const rdlen = b.readUInt16BE(o + 8);
    const rd = o + 10;
    if (rd + rdlen > end) return;
    if (type === 5) {
      const target = dnsName(b, start, rd, end);
      if (target) alias.set(target[0], n[0]);
    } else if (type === 1 && rdlen === 4) answer(`${b[rd]}.${b[rd + 1]}.${b[rd + 2]}.${b[rd + 3]}`, question ?? root(n[0]), ttl);
    else if (type === 28 && rdlen === 16) answer(ipv6Text(b, rd), question ?? root(n[0]), ttl);
    o = rd + rdlen;
  }
}

/**
 * Accumulates chunks and hands complete records to `take`; `take` returns how many bytes it consumed from `buf` at
 * `off` (0: needs more). `base` is the absolute offset of `buf[0]`, for locating issues.
 */
export class ChunkBuffer {
  private buf: Buffer = Buffer.alloc(0);
  base = 0;

  constructor(private readonly take: (buf: Buffer, off: number, abs: number) => number) {}

  push(chunk: Buffer): void {
    const buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    for (;;) {
      const n = this.take(buf, off, this.base + off);
      if (n <= 0) break;
      off += n;
    }
    this.base += off;
    this.buf = off < buf.length ? Buffer.from(buf.subarray(off)) : Buffer.alloc(0);
  }

  get remaining(): number {
    return this.buf.length;
  }
}

export const pcap: FlowSource = {
  kind: 'flows',
  format: 'pcap',
  detect: () => false,
  detectBytes(head) {
    if (head.length < 24) return false;
    const le = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32LE(0);
    const be = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32BE(0);
    return le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS;
  },
  open() {
    throw new Error('pcap is binary: use openBinary');
  },
  openBinary(ctx: ReadContext, emit: (r: FlowRecord) => void): ChunkHandler {
    const dec = new PacketDecoder(ctx, emit);
    let reader: ChunkHandler | undefined;
    return {
      chunk(b) {
        // The magic number picks the reader: microsecond captures through pcap-parser, nanosecond ones through ours.
        reader ??= b.length >= 4 && [b.readUInt32LE(0), b.readUInt32BE(0)].includes(PCAP_MAGIC_US) ? microsecondReader(ctx, dec) : ownReader(ctx, dec);
        reader.chunk(b);
      },
      end() {
        (reader ?? ownReader(ctx, dec)).end();
      },
    };
  },
};


function ownReader(ctx: ReadContext, dec: PacketDecoder): ChunkHandler {
  let header: { le: boolean; scale: number; linkType: number } | undefined;
  let failed = false;
  const cb = new ChunkBuffer((buf, off, abs) => {
    if (failed) return 0;
    if (!header) {
      if (buf.length - off < 24) return 0;
      const le = buf.readUInt32LE(off);
      const be = buf.readUInt32BE(off);
      const littleEndian = le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS;
      if (!littleEndian && be !== PCAP_MAGIC_US && be !== PCAP_MAGIC_NS) {
        failed = true;
        ctx.issue({ offset: abs, reason: 'bad-header', detail: 'not a pcap file' });
        return 0;
      }
      const magic = littleEndian ? le : be;
      const linkType = (littleEndian ? buf.readUInt32LE(off + 20) : buf.readUInt32BE(off + 20)) & 0xffff;
      header = { le: littleEndian, scale: magic === PCAP_MAGIC_NS ? 1e-9 : 1e-6, linkType };
      return 24;
    }
    if (buf.length - off < 16) return 0;
    const u32 = (o: number) => (header!.le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const incl = u32(off + 8);
    if (incl > MAX_RECORD) {
      failed = true;
      ctx.issue({ offset: abs, reason: 'bad-record-length', detail: `${incl} bytes captured` });
      return 0;
    }
    if (buf.length - off < 16 + incl) return 0;
    dec.frame(header.linkType, buf, off + 16, incl, u32(off) + u32(off + 4) * header.scale, abs);
    return 16 + incl;
  });
  return {
    chunk: (b) => cb.push(b),
    end() {
      dec.flush();
      if (!failed && (cb.remaining > 0 || !header)) {
        ctx.issue({ offset: cb.base, reason: 'truncated-capture', detail: `${cb.remaining} bytes after the last whole packet` });
      }
    },
  };
}

/** Classic microsecond pcap through pcap-parser. Offsets are tracked here to locate issues. */
function microsecondReader(ctx: ReadContext, dec: PacketDecoder): ChunkHandler {
  const handlers = new Map<string, (arg?: unknown) => void>();
  const stream: StreamLike = { on: (ev, fn) => handlers.set(ev, fn), pause() {}, resume() {} };
  const parser = pcapParser.parse(stream);
  let linkType = 0;
  let offset = 24;
  parser.on('globalHeader', (h: GlobalHeader) => { linkType = h.linkLayerType & 0xffff; });
  parser.on('packetHeader', (h: PacketHeader) => {
    if (h.capturedLength > MAX_RECORD) {
      // A corrupt length would make the parser buffer the rest of the file: stop here instead.
      parser.errored = true;
      ctx.issue({ offset, reason: 'bad-record-length', detail: `${h.capturedLength} bytes captured` });
    }
  });
  parser.on('packet', (p: Packet) => {
    dec.frame(linkType, p.data, 0, p.data.length, p.header.timestampSeconds + p.header.timestampMicroseconds * 1e-6, offset);
    offset += 16 + p.header.capturedLength;
  });
  parser.on('error', (e: Error) => ctx.issue({ offset: 0, reason: 'bad-header', detail: e.message }));
  return {
    chunk: (b) => handlers.get('data')?.(b),
    end() {
      dec.flush();
      const left = parser.buffer?.length ?? 0;
      if (!parser.errored && left > 0) ctx.issue({ offset, reason: 'truncated-capture', detail: `${left} bytes after the last whole packet` });
    },
  };
}
