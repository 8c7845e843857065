/** Stage names of stage-worker.ts, importable without running the worker. */
export const STAGES = ['read', 'parse', 'aggregate', 'store', 'hash', 'full'] as const;
export type Stage = (typeof STAGES)[number];
