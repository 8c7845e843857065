import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDeps } from './app.js';
import { checkBind } from './security.js';

export interface ListenOptions extends Omit<AppDeps, 'bindHost'> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface RunningServer {
  server: Server;
  /** Base URL, without the token. */
  url: string;
  close(): Promise<void>;
}

/** Check the bind (no token → loopback only), build the app and listen. Rejects before binding anything when refused. */
export async function startServer(opts: ListenOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  checkBind(host, opts.token);
  const app = createApp({ ...opts, bindHost: host });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 8080, host);
    s.once('listening', () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port} on ${host} is already in use (choose another with --port)` : `cannot listen on ${host}:${opts.port}`, { cause: e }));
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shownHost}:${addr.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Browsers keep connections alive; without this, close waits for them to time out.
      server.closeAllConnections();
    }),
  };
}
