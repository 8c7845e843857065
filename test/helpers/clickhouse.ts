import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The run's ClickHouse server (`clickhouse://127.0.0.1:PORT`), or '' when there is none (see clickhouseMissing()). */
export const clickhouseUrl = (): string => inject('clickhouseUrl') ?? '';

/** Why the ClickHouse cases are skipped: "clickhouse-server not installed" (the label of the skipped cases). */
export const clickhouseMissing = (): string => inject('clickhouseMissing') || (clickhouseUrl() ? '' : 'clickhouse-server not installed');

/** A fresh database name on the run's server: every test writes its own. */
export const freshDatabase = (prefix = 't'): string => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
