/** A bounded load on the read API (127.0.0.1 only): every request succeeds. Timings are printed, never asserted. */
import { describe, expect, it } from 'vitest';
import { LOAD_PATHS, loadAgainst } from '../bench/load.js';
import { DEMO_INPUT } from './helpers/web.js';

describe('server under load', () => {
  it('200 concurrent reads of /api/v1/graph and /api/v1/findings: zero errors', async () => {
    const r = await loadAgainst([DEMO_INPUT], { paths: LOAD_PATHS, requests: 200, concurrency: 16 });
    console.log(`load: ${r.requests} requests, concurrency 16, errors ${r.errors}, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms (${JSON.stringify(r.statuses)})`);
    expect(r.statuses).toEqual({ 200: 200 });
    expect(r.errors).toBe(0);
  });
});
