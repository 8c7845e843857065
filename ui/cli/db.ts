import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { isClickHouseUrl, type FlowStore } from '../../store/backend.js';
import { openStore } from '../../store/open.js';
import { InputError } from './errors.js';

export function dbPath(cmd: Command): string {
  return (cmd.optsWithGlobals() as { db: string }).db;
}

/** Open the store for reading commands: a missing SQLite file is a user error, not an empty result. */
export async function openExisting(cmd: Command): Promise<FlowStore> {
  const path = dbPath(cmd);
  if (!isClickHouseUrl(path) && !existsSync(path)) throw new InputError(`no database at ${path}: run \`segmap ingest PATH…\` first (or pass --db FILE)`);
  return openStore(path);
}
