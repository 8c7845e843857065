/**
 * vitest globalSetup: one private ClickHouse server for the whole run, when the machine has `clickhouse-server` and
 * `SEGMAP_CLICKHOUSE_URL` does not already name one. Tests read the URL with `clickhouseUrl()` (test/helpers/clickhouse.ts)
 * and create their own database on it; an empty URL means no server, and the ClickHouse cases report themselves
 * skipped by name.
 */
import type { TestProject } from 'vitest/node';
import { findClickHouseServer, startClickHouseServer } from './clickhouse-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `clickhouse://127.0.0.1:PORT` of the run's server, or '' when none is available. */
    clickhouseUrl: string;
    /** Why there is none ('' when there is). */
    clickhouseMissing: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.SEGMAP_CLICKHOUSE_URL;
  if (given) {
    project.provide('clickhouseUrl', given.replace(/\/+$/, ''));
    project.provide('clickhouseMissing', '');
    return undefined;
  }
  const binary = findClickHouseServer();
  if (!binary) {
    project.provide('clickhouseUrl', '');
    project.provide('clickhouseMissing', 'clickhouse-server not installed');
    return undefined;
  }
  // A second try on other free ports (another process may have taken one in between); a server that will not start
  // skips the ClickHouse cases, saying why, rather than failing every suite of the run.
  let server;
  for (let attempt = 1; !server; attempt++) {
    try {
      server = await startClickHouseServer(binary);
    } catch (e) {
      if (attempt < 2) continue;
      const why = `clickhouse-server failed to start: ${(e as Error).message.split('\n')[0].slice(0, 300)}`;
      process.stderr.write(`!! ${why}\n`);
      project.provide('clickhouseUrl', '');
      project.provide('clickhouseMissing', why);
      return undefined;
    }
  }
  project.provide('clickhouseUrl', server.url);
  project.provide('clickhouseMissing', '');
  // Child processes (the CLI under test) find it the same way.
  process.env.SEGMAP_CLICKHOUSE_URL = server.url;
  return () => server.stop();
}
