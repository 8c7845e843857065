import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

export interface ReadOutcome {
  lines: number;
  /** Compressed (on-disk) bytes consumed, for locating a read error. */
  bytesRead: number;
  /** A stream-level failure (truncated gzip, I/O error). Lines before it were delivered. */
  error?: Error;
}

const GZIP_MAGIC = [0x1f, 0x8b];

export async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

/** The first `max` characters of the (decompressed) file, for format detection. */
export async function readHead(path: string, max = 4096): Promise<string> {
  let head = '';
  const gz = await isGzip(path);
  const raw = createReadStream(path, { start: 0, end: gz ? 256 * 1024 : max });
  const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
  // A decoder, not chunk.toString(): a multi-byte character may straddle two chunks.
  const dec = new StringDecoder('utf8');
  try {
    for await (const chunk of stream) {
      head += dec.write(chunk as Buffer);
      if (head.length >= max) break;
    }
  } catch {
    // A short or damaged file still has a head; the full read reports the error with its location.
  } finally {
    raw.destroy();
    stream.destroy();
  }
  return head.slice(0, max);
}

/**
 * Limits that keep memory and time bounded on any input, hostile or broken. Every one is an option with a default;
 * `ingest` passes them through (`IngestOptions.limits`).
 */
export interface ReadLimits {
  /** Longest line kept, in characters (= bytes for ASCII logs). Longer lines are skipped, never buffered whole. */
  maxLineLength?: number;
  /** Decompressed bytes per gzip member file; past it the read stops (`decompression-limit`), keeping what was read. */
  maxDecompressedBytes?: number;
  /** Decompressed:compressed ratio refused once more than `ratioCheckAfterBytes` came out (a gzip bomb). */
  maxDecompressionRatio?: number;
  ratioCheckAfterBytes?: number;
  /** Whole-file inputs (cluster dumps, audit logs) larger than this (decompressed) are refused. */
  maxWholeFileBytes?: number;
}

export const DEFAULT_LIMITS: Required<ReadLimits> = {
  maxLineLength: 1 << 20,
  maxDecompressedBytes: 64 * 2 ** 30,
  // Flow logs compress 10–30×; gzip cannot exceed ~1030× (long runs of one byte), which is what bombs are made of.
  maxDecompressionRatio: 200,
  ratioCheckAfterBytes: 64 << 20,
  maxWholeFileBytes: 512 << 20,
};

/** A read stopped by a limit (not an I/O error): `offset` is the compressed byte offset it stopped at. */
export class LimitError extends Error {
  constructor(readonly reason: 'decompression-limit' | 'file-too-large', message: string, readonly offset: number) {
    super(message);
  }
}

/** A line longer than `maxLineLength`: skipped. `offset` is the decompressed byte offset of its start. */
export interface LongLine { line: number; offset: number; length: number }

/**
 * Stream a (possibly gzipped) text file line by line. Memory stays flat: only the current chunk and a partial
 * line are held. A stream error ends the read and is returned, never thrown, so callers keep what came before.
 * A line longer than `limits.maxLineLength` is passed to `onTooLong` (it still takes its line number) instead of
 * `onLine`, and only its first chunk is ever held.
 */
export async function forEachLine(
  path: string, onLine: (line: string, lineNo: number) => void, limits: ReadLimits = {}, onTooLong?: (l: LongLine) => void,
): Promise<ReadOutcome> {
  const max = limits.maxLineLength ?? DEFAULT_LIMITS.maxLineLength;
  let carry = '';
  let lineNo = 0;
  /** Decompressed bytes before the current chunk; the offset of a long line is only computed when one occurs. */
  let consumed = 0;
  /** The long line being skipped (its start), until its newline arrives. */
  let skipping: LongLine | undefined;
  const tooLong = (l: LongLine) => onTooLong?.(l);
  // A decoder, not chunk.toString(): a multi-byte character may straddle two chunks.
  const dec = new StringDecoder('utf8');
  const outcome = await forEachChunk(path, (chunk) => {
    const textBase = consumed - (carry.length === 0 ? 0 : Buffer.byteLength(carry));
    const text = carry + dec.write(chunk);
    consumed += chunk.length;
    let start = 0;
    let nl = text.indexOf('\n', start);
    if (skipping) {
      if (nl === -1) { skipping.length += text.length; carry = ''; return; }
      skipping.length += nl;
      tooLong(skipping);
      skipping = undefined;
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    while (nl !== -1) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > max) tooLong({ line: ++lineNo, offset: textBase + Buffer.byteLength(text.slice(0, start)), length: end - start });
      else onLine(text.slice(start, end), ++lineNo);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (text.length - start > max) {
      // No newline within the limit: remember where the line began and drop its text until the newline comes.
      skipping = { line: ++lineNo, offset: textBase + Buffer.byteLength(text.slice(0, start)), length: text.length - start };
      carry = '';
    } else carry = text.slice(start);
  }, limits);
  // The partial line before a truncation is not a record we can trust: drop it.
  if (outcome.error) return { lines: lineNo, bytesRead: outcome.bytesRead, error: outcome.error };
  carry += dec.end();
  if (skipping) tooLong(skipping);
  else if (carry.length > max) tooLong({ line: ++lineNo, offset: consumed - Buffer.byteLength(carry), length: carry.length });
  else if (carry.length > 0) onLine(carry.endsWith('\r') ? carry.slice(0, -1) : carry, ++lineNo);
  return { lines: lineNo, bytesRead: outcome.bytesRead };
}

/**
 * Whole-file read for small inputs (cluster dumps, audit logs); gunzips when needed. Past `limits.maxWholeFileBytes`
 * (decompressed) it throws a `LimitError` naming the limit, having held at most that much.
 */
export async function readText(path: string, limits: ReadLimits = {}): Promise<string> {
  const max = limits.maxWholeFileBytes ?? DEFAULT_LIMITS.maxWholeFileBytes;
  const chunks: Buffer[] = [];
  let n = 0;
  const outcome = await forEachChunk(path, (c) => {
    n += c.length;
    if (n > max) {
      throw new LimitError('file-too-large', `${path} is larger than ${max} bytes (decompressed); cluster dumps and audit logs are read whole and limited to that (maxWholeFileBytes)`, 0);
    }
    chunks.push(c);
  }, limits);
  if (outcome.error) throw outcome.error;
  return Buffer.concat(chunks).toString('utf8');
}

/** The first `max` bytes of the (decompressed) file, for detecting binary formats by their magic number. */
export async function readHeadBytes(path: string, max = 64): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  const gz = await isGzip(path);
  const raw = createReadStream(path, { start: 0, end: gz ? 64 * 1024 : max });
  const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const c of stream) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= max) break;
    }
  } catch {
    // A short or damaged file still has a head.
  } finally {
    raw.destroy();
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/**
 * Stream a (possibly gzipped) binary file in chunks. Like `forEachLine`, a stream error is returned, never thrown
 * (as is a `LimitError` when decompression passes the limits, or one `onChunk` throws).
 */
export async function forEachChunk(path: string, onChunk: (buf: Buffer) => void, limits: ReadLimits = {}): Promise<ReadOutcome> {
  const gz = await isGzip(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytesRead = 0;
  raw.on('data', (c) => { bytesRead += (c as Buffer).length; });
  const stream: Readable = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  const maxOut = limits.maxDecompressedBytes ?? DEFAULT_LIMITS.maxDecompressedBytes;
  const maxRatio = limits.maxDecompressionRatio ?? DEFAULT_LIMITS.maxDecompressionRatio;
  const ratioAfter = limits.ratioCheckAfterBytes ?? DEFAULT_LIMITS.ratioCheckAfterBytes;
  let out = 0;
  try {
    for await (const chunk of stream) {
      if (gz) {
        out += (chunk as Buffer).length;
        if (out > maxOut || (out > ratioAfter && out > maxRatio * bytesRead)) {
          const why = out > maxOut ? `more than ${maxOut} bytes` : `more than ${maxRatio}× its compressed size`;
          throw new LimitError('decompression-limit', `stopped: gzip data expands to ${why} (${out} bytes from ${bytesRead})`, bytesRead);
        }
      }
      onChunk(chunk as Buffer);
    }
    return { lines: 0, bytesRead };
  } catch (e) {
    return { lines: 0, bytesRead, error: e as Error };
  } finally {
    raw.destroy();
    stream.destroy();
  }
}
