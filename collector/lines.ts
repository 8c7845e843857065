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
 * Stream a (possibly gzipped) text file line by line. Memory stays flat: only the current chunk and a partial
 * line are held. A stream error ends the read and is returned, never thrown, so callers keep what came before.
 */
export async function forEachLine(path: string, onLine: (line: string, lineNo: number) => void): Promise<ReadOutcome> {
  let carry = '';
  let lineNo = 0;
  // A decoder, not chunk.toString(): a multi-byte character may straddle two chunks.
  const dec = new StringDecoder('utf8');
  const outcome = await forEachChunk(path, (chunk) => {
    const text = carry + dec.write(chunk);
    let start = 0;
    let nl = text.indexOf('\n', start);
    while (nl !== -1) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(text.slice(start, end), ++lineNo);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    carry = text.slice(start);
  });
  // The partial line before a truncation is not a record we can trust: drop it.
  if (outcome.error) return { lines: lineNo, bytesRead: outcome.bytesRead, error: outcome.error };
  carry += dec.end();
  if (carry.length > 0) onLine(carry.endsWith('\r') ? carry.slice(0, -1) : carry, ++lineNo);
  return { lines: lineNo, bytesRead: outcome.bytesRead };
}

/** Whole-file read for small inputs (cluster dumps); gunzips when needed. */
export async function readText(path: string): Promise<string> {
  const chunks: Buffer[] = [];
  const gz = await isGzip(path);
  const raw = createReadStream(path);
  const stream: Readable = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  for await (const c of stream) chunks.push(c as Buffer);
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

/** Stream a (possibly gzipped) binary file in chunks. Like `forEachLine`, a stream error is returned, never thrown. */
export async function forEachChunk(path: string, onChunk: (buf: Buffer) => void): Promise<ReadOutcome> {
  const gz = await isGzip(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytesRead = 0;
  raw.on('data', (c) => { bytesRead += (c as Buffer).length; });
  const stream: Readable = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gz) raw.on('error', (e) => stream.destroy(e));
  try {
    for await (const chunk of stream) onChunk(chunk as Buffer);
    return { lines: 0, bytesRead };
  } catch (e) {
    return { lines: 0, bytesRead, error: e as Error };
  } finally {
    raw.destroy();
  }
}
