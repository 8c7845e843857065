import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Store } from '../../store/store.js';
import { InputError } from './errors.js';

export function dbPath(cmd: Command): string {
  return (cmd.optsWithGlobals() as { db: string }).db;
}

/** Open the database for reading commands: a missing file is a user error, not an empty result. */
export function openExisting(cmd: Command): Store {
  const path = dbPath(cmd);
  if (!existsSync(path)) throw new InputError(`no database at ${path}: run \`segmap ingest PATH…\` first (or pass --db FILE)`);
  return Store.open(path);
}
