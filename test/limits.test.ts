/**
 * Read limits: bounded memory on any input. Long lines are skipped and located, gzip bombs stop with what was read,
 * whole-file inputs past their size are refused with a clear message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { awsVpc } from '../collector/aws-vpc.js';
import { DEFAULT_LIMITS, forEachLine, type LongLine } from '../collector/lines.js';
import { readFlowFile } from '../collector/read-flows.js';
import { formatIssue } from '../model/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { ingestFile } from '../ui/ingest.js';

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const rec = (i: number) => `2 123456789012 eni-0a1 10.0.1.${i % 250 + 1} 10.0.2.9 ${40000 + i} 443 6 10 840 ${1762000000 + i} ${1762000060 + i} ACCEPT OK`;

const dir = mkdtempSync(join(tmpdir(), 'segmap-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collectLines(path: string, maxLineLength?: number) {
  const got: { n: number; text: string }[] = [];
  const long: LongLine[] = [];
  const r = await forEachLine(path, (text, n) => got.push({ n, text }), { maxLineLength }, (l) => long.push(l));
  return { got, long, r };
}

describe('limits: line length', () => {
  it('lines past the limit are skipped with their line number and byte offset; the others are all delivered', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', minLength: 41, maxLength: 120 })).map((l) => l.replace(/[\r\n]/g, '_')), { maxLength: 40 }),
      fc.boolean(),
      async (lines, trailingNewline) => {
        const text = lines.join('\n') + (trailingNewline && lines.length ? '\n' : '');
        const path = join(dir, 'lines.txt');
        writeFileSync(path, text);
        const { got, long } = await collectLines(path, 40);
        const expected = text === '' ? [] : (trailingNewline ? lines : text.split('\n'));
        let offset = 0;
        const wantGot: { n: number; text: string }[] = [];
        const wantLong: LongLine[] = [];
        expected.forEach((l, i) => {
          if (l.length > 40) wantLong.push({ line: i + 1, offset, length: l.length });
          else if (!(i === expected.length - 1 && l === '' && !trailingNewline)) wantGot.push({ n: i + 1, text: l });
          offset += l.length + 1;
        });
        expect(long).toEqual(wantLong);
        expect(got.filter((g) => g.text !== '' || g.n < expected.length)).toEqual(wantGot.filter((g) => g.text !== '' || g.n < expected.length));
      },
    ), { numRuns: 100, seed: 6000 });
  });

  it('a multi-MiB line straddling read chunks is skipped without being held; line numbers after it stay right', async () => {
    const huge = 'x'.repeat(3 * (1 << 20) + 12345);
    const path = join(dir, 'huge.log');
    writeFileSync(path, [HEADER, rec(0), huge, rec(1), huge].join('\n'));
    const r = await readFlowFile(path, awsVpc, { onBatch: () => {} });
    expect(r.counts.read).toBe(2);
    expect(r.counts.skipped).toEqual({ 'line-too-long': 2 });
    const [a, b] = r.issues;
    expect([a.line, b.line]).toEqual([3, 5]);
    expect(a.offset).toBe(HEADER.length + 1 + rec(0).length + 1);
    expect(b.offset).toBe(a.offset! + huge.length + 1 + rec(1).length + 1);
    expect(formatIssue(a)).toMatch(/huge\.log:3: line-too-long \(3158073\+ characters from byte \d+; limit 1048576\)/);
    expect(DEFAULT_LIMITS.maxLineLength).toBe(1 << 20);
  });
});

describe('limits: gzip expansion', () => {
  it('a gzip bomb stops at the limit as decompression-limit (file@offset), keeping the records before it', async () => {
    const head = Buffer.from([HEADER, ...Array.from({ length: 100 }, (_, i) => rec(i))].join('\n') + '\n');
    const path = join(dir, 'bomb.log.gz');
    writeFileSync(path, gzipSync(Buffer.concat([head, Buffer.alloc(48 << 20, 0x30)]), { level: 9 }));
    const r = await readFlowFile(path, awsVpc, { onBatch: () => {}, limits: { ratioCheckAfterBytes: 4 << 20 } });
    expect(r.complete).toBe(false);
    expect(r.counts.read).toBe(100);
    const issue = r.issues.find((i) => i.reason === 'decompression-limit');
    expect(issue?.offset).toBeGreaterThan(0);
    expect(formatIssue(issue!)).toMatch(/bomb\.log\.gz@\d+: decompression-limit \(stopped: gzip data expands to more than 200× its compressed size/);
  });

  it('ingest stores such a file as partial, and an absolute cap applies too', async () => {
    const path = join(dir, 'cap.log.gz');
    writeFileSync(path, gzipSync([HEADER, ...Array.from({ length: 50000 }, (_, i) => rec(i))].join('\n')));
    const store = SqliteStore.open(':memory:');
    const r = await ingestFile(store, path, { limits: { maxDecompressedBytes: 1 << 20 } });
    expect(r.status).toBe('partial');
    expect(r.counts.read).toBeGreaterThan(1000);
    expect(r.counts.read).toBeLessThan(50000);
    expect(r.issues.map((i) => i.reason)).toContain('decompression-limit');
    expect((await store.counts()).flows).toBe(r.counts.read);
    await store.close();
  });
});

describe('limits: whole-file inputs', () => {
  it('a cluster dump past maxWholeFileBytes is refused with a clear message and nothing is stored', async () => {
    const path = join(dir, 'dump.json');
    writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: 200 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'a' } })) }));
    const store = SqliteStore.open(':memory:');
    const r = await ingestFile(store, path, { limits: { maxWholeFileBytes: 4096 } });
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/dump\.json is larger than 4096 bytes \(decompressed\).*maxWholeFileBytes/);
    expect(await store.counts()).toMatchObject({ inputs: 0, objects: 0 });
    const ok = await ingestFile(store, path);
    expect(ok.status).toBe('ingested');
    expect(DEFAULT_LIMITS.maxWholeFileBytes).toBe(512 << 20);
    await store.close();
  });
});
