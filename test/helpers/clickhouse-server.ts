/**
 * A throwaway ClickHouse server for tests and the bench: the machine's `clickhouse-server` (Debian ships 18.16),
 * started on loopback on free ports with its own config, data and log directories under the system temp dir, and
 * killed (its directory removed) when done. Nothing here touches a system-wide server or its config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * The server binary: `SEGMAP_CLICKHOUSE_SERVER` when set (`none`: there is none), else `clickhouse-server` on PATH, else
 * Debian's locations.
 */
export function findClickHouseServer(): string | undefined {
  const given = process.env.SEGMAP_CLICKHOUSE_SERVER;
  if (given) return given === 'none' || !existsSync(given) ? undefined : given;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin'];
  for (const d of dirs) {
    const p = join(d, 'clickhouse-server');
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface ClickHouseServer {
  /** `clickhouse://127.0.0.1:PORT` (no database: callers append `/name`). */
  readonly url: string;
  readonly httpPort: number;
  /** The native protocol's port (what Distributed tables of other servers connect to). */
  readonly tcpPort: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function configXml(dir: string, httpPort: number, tcpPort: number, extra = ''): string {
  // Only what 18.16 requires (it reads mark_cache_size unconditionally) plus loopback ports; no interserver port,
  // no remote servers, no ZooKeeper. Current releases accept the same file.
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog>
    <size>100M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
${extra}
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>8000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;

async function ping(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(1000) });
    return r.ok && (await r.text()).startsWith('Ok');
  } catch {
    return false;
  }
}

export interface StartOptions {
  timeoutMs?: number;
  /** More config.xml elements, given the server's own ports (e.g. `<remote_servers>` for a Distributed layout). */
  extraConfig?: (ports: { httpPort: number; tcpPort: number }) => string;
}

/** Start a private server and wait until `/ping` answers (up to `timeoutMs`). Throws with the server's log on failure. */
export async function startClickHouseServer(binary = findClickHouseServer(), opts: StartOptions = {}): Promise<ClickHouseServer> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  if (!binary) throw new Error('clickhouse-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'segmap-clickhouse-'));
  for (const d of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, d));
  const httpPort = await freePort();
  let tcpPort = await freePort();
  while (tcpPort === httpPort) tcpPort = await freePort();
  writeFileSync(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort, opts.extraConfig?.({ httpPort, tcpPort })));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  const child: ChildProcess = spawn(binary, [`--config-file=${join(dir, 'config.xml')}`], {
    cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { if (stderr.length < 64 << 10) stderr += c.toString(); });
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  const stop = async () => {
    if (exited === undefined && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(httpPort))) {
    if (exited !== undefined || Date.now() > deadline) {
      const log = [join(dir, 'log', 'server.err.log')].filter(existsSync).map((f) => readFileSync(f, 'utf8').slice(-4000)).join('\n');
      await stop();
      throw new Error(`clickhouse-server did not start (${exited !== undefined ? `exit ${exited}` : 'timeout'}): ${stderr.slice(-2000)}${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `clickhouse://127.0.0.1:${httpPort}`, httpPort, tcpPort, stop };
}
