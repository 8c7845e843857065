import { isClickHouseUrl, type FlowStore } from './backend.js';

export interface OpenOptions {
  /** Refuse to create or migrate: reading commands never change the store. */
  readonly?: boolean;
}

/**
 * Open the store `--db` names: a `clickhouse://` URL or a SQLite file path. Each backend is loaded only when used, so
 * the SQLite path never pays for the ClickHouse client.
 */
export async function openStore(location: string, opts: OpenOptions = {}): Promise<FlowStore> {
  if (isClickHouseUrl(location)) {
    const { ClickHouseStore } = await import('./clickhouse.js');
    return ClickHouseStore.open(location, opts);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return SqliteStore.open(location, opts);
}
