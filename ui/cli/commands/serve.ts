import { Option, type Command } from 'commander';
import type { FlowStore } from '../../../store/backend.js';
import { startServer } from '../../server/listen.js';
import { openExisting } from '../db.js';
import { InputError, UsageError } from '../errors.js';
import { packageVersion } from '../program.js';

export interface ServeOptions { host: string; port: string; token?: string }

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port: expected 0–65535, got "${text}"`);
  return Number(text);
}

/** Serve the store until SIGINT/SIGTERM; prints the URL (with the one-time token link when a token is set). */
export async function serveStore(store: FlowStore, opts: ServeOptions, prefix = 'segmap serve'): Promise<void> {
  let running;
  try {
    running = await startServer({ store, host: opts.host, port: parsePort(opts.port), token: opts.token, version: packageVersion() });
  } catch (e) {
    const err = e as Error;
    throw new InputError(`${err.message}${err.cause ? ` (${(err.cause as Error).message})` : ''}`);
  }
  const link = opts.token ? `${running.url}?token=${encodeURIComponent(opts.token)}` : running.url;
  process.stdout.write(`${prefix}: open ${link}\n`);
  if (opts.token) process.stderr.write(`${prefix}: the link sets a session cookie; API clients send "Authorization: Bearer <token>"\n`);
  process.stderr.write(`${prefix}: press Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stderr.write(`${prefix}: ${signal}, shutting down\n`);
      void running.close().then(resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the web UI and its read-only JSON API (127.0.0.1 only unless --token is given)')
    .option('--host <host>', 'address to bind; anything but loopback requires --token', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8080')
    .addOption(new Option('--token <token>', 'require this bearer token (at least 16 characters)').env('SEGMAP_TOKEN'))
    .action(async (opts: ServeOptions, cmd: Command) => {
      parsePort(opts.port);
      const store = await openExisting(cmd);
      try {
        await serveStore(store, opts);
      } finally {
        await store.close();
      }
    });
}
