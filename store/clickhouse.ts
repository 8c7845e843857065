// The ClickHouse backend lands with issue 9; until then a clickhouse:// --db says so.
import type { FlowStore } from './backend.js';

export class ClickHouseStore {
  static async open(_url: string, _opts: { readonly?: boolean } = {}): Promise<FlowStore> {
    throw new Error('the ClickHouse backend is not built yet');
  }
}
