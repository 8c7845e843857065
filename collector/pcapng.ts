import type { FlowRecord } from '../model/index.js';
import { ChunkBuffer, PacketDecoder } from './pcap.js';
import type { ChunkHandler, FlowSource, ReadContext } from './source.js';

/**
 * pcapng captures: a small block reader of our own (no npm reader we checked is both maintained and streaming).
 * Section headers set the byte order (both are read; a file may hold several sections); interface descriptions give
 * each interface its link type and timestamp resolution (`if_tsresol`, default microseconds); enhanced, simple and
 * obsolete packet blocks carry frames, decoded by `pcap.ts`'s `PacketDecoder`. Other blocks (name resolution,
 * statistics, custom) are passed over. Simple packet blocks have no time: they take the previous packet's.
 *
 * Reasons (ctx.issue, `offset` = byte offset): `bad-header`, `bad-block-length`, `unknown-interface`,
 * `truncated-capture`, and the packet decoder's.
 */

const SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const MAX_BLOCK = 1 << 24;

interface Iface { linkType: number; unitsPerSecond: number }

export const pcapng: FlowSource = {
  kind: 'flows',
  format: 'pcapng',
  detect: () => false,
  detectBytes(head) {
    if (head.length < 12) return false;
    const b = Buffer.from(head.buffer, head.byteOffset, head.length);
    return b.readUInt32LE(0) === SHB && (b.readUInt32LE(8) === BYTE_ORDER_MAGIC || b.readUInt32BE(8) === BYTE_ORDER_MAGIC);
  },
  open() {
    throw new Error('pcapng is binary: use openBinary');
  },
  openBinary(ctx: ReadContext, emit: (r: FlowRecord) => void): ChunkHandler {
    const dec = new PacketDecoder(ctx, emit);
    let le: boolean | undefined;
    let ifaces: Iface[] = [];
    let lastTs = 0;
    let failed = false;
    const cb = new ChunkBuffer((buf, off, abs) => {
      if (failed || buf.length - off < 12) return 0;
      const type = buf.readUInt32LE(off);
      if (type === SHB) {
        const magic = buf.readUInt32LE(off + 8);
        if (magic === BYTE_ORDER_MAGIC) le = true;
        else if (buf.readUInt32BE(off + 8) === BYTE_ORDER_MAGIC) le = false;
        else {
          failed = true;
          ctx.issue({ offset: abs, reason: 'bad-header', detail: 'section header without its byte-order magic' });
          return 0;
        }
        ifaces = [];
      } else if (le === undefined) {
        failed = true;
        ctx.issue({ offset: abs, reason: 'bad-header', detail: 'not a pcapng file' });
        return 0;
      }
      const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
      const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
      const blockType = u32(off);
      const len = u32(off + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) {
        failed = true;
        ctx.issue({ offset: abs, reason: 'bad-block-length', detail: `${len} bytes` });
        return 0;
      }
      if (buf.length - off < len) return 0;
      const body = off + 8;
      const bodyEnd = off + len - 4;
      if (blockType === 1) {
        // Interface description: link type, then options; if_tsresol (code 9) sets the clock's units.
        const iface: Iface = { linkType: u16(body), unitsPerSecond: 1e6 };
        let o = body + 8;
        while (o + 4 <= bodyEnd) {
          const code = u16(o);
          const olen = u16(o + 2);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const v = buf[o + 4];
            iface.unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
          }
          o += 4 + ((olen + 3) & ~3);
        }
        ifaces.push(iface);
      } else if (blockType === 6 || blockType === 2) {
        // Enhanced packet block (6): iface u32; obsolete packet block (2): iface u16, drops u16. Then ts, lengths, data.
        // A packet block too short for its own fixed fields (a corrupt length) is skipped, not read past its end.
        if (len < 32) {
          ctx.issue({ offset: abs, reason: 'bad-block-length', detail: `${len}-byte packet block` });
          return len;
        }
        const id = blockType === 6 ? u32(body) : u16(body);
        const iface = ifaces[id];
        const caplen = u32(body + 12);
        if (!iface) ctx.issue({ offset: abs, reason: 'unknown-interface', detail: `interface ${id}` });
        else if (body + 20 + caplen > bodyEnd) ctx.issue({ offset: abs, reason: 'bad-block-length', detail: `captured length ${caplen}` });
        else {
          const units = u32(body + 4) * 2 ** 32 + u32(body + 8);
          lastTs = units / iface.unitsPerSecond;
          dec.frame(iface.linkType, buf, body + 20, caplen, lastTs, abs);
        }
      } else if (blockType === 3) {
        // Simple packet block: interface 0, no time, captured length = min(original, what the block holds).
        if (len < 16) {
          ctx.issue({ offset: abs, reason: 'bad-block-length', detail: `${len}-byte simple packet block` });
          return len;
        }
        const iface = ifaces[0];
        const caplen = Math.min(u32(body), bodyEnd - body - 4);
        if (!iface) ctx.issue({ offset: abs, reason: 'unknown-interface', detail: 'interface 0' });
        else dec.frame(iface.linkType, buf, body + 4, caplen, lastTs, abs);
      }
      return len;
    });
    return {
      chunk: (b) => cb.push(b),
      end() {
        dec.flush();
        if (!failed && cb.remaining > 0) ctx.issue({ offset: cb.base, reason: 'truncated-capture', detail: `${cb.remaining} bytes after the last whole block` });
      },
    };
  },
};
