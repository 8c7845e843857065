import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // A private ClickHouse server for the store conformance suite and the ClickHouse scenario (when installed).
    globalSetup: ['test/helpers/clickhouse-global-setup.ts'],
  },
});
