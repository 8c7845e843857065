import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Run a child process and measure it from the outside: wall time and peak RSS, independent of anything the
 * child reports about itself.
 *
 * Peak RSS: GNU time's `%M` (the kernel's ru_maxrss for the waited-for child, exact) when /usr/bin/time works;
 * otherwise VmHWM polled from /proc/PID/status every 25 ms (a lower bound: growth in the last poll interval
 * before exit can be missed); otherwise not measured.
 */

export type RssMethod = 'gnu-time' | 'proc-vmhwm' | 'none';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Captured stdout (up to `maxCapture` characters). */
  stdout: string;
  stdoutLines: number;
  stdoutBytes: number;
  stderr: string;
  wallSeconds: number;
  peakRssMB?: number;
  rssMethod: RssMethod;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /** Characters of stdout kept (the rest is only counted). Default 1 MiB. */
  maxCapture?: number;
  env?: NodeJS.ProcessEnv;
  /** Stream the child's stderr to ours (progress lines) as well as capturing it. */
  echoStderr?: boolean;
}

let methodCache: RssMethod | undefined;

export function rssMethod(): RssMethod {
  if (methodCache) return methodCache;
  if (existsSync('/usr/bin/time')) {
    const dir = mkdtempSync(join(tmpdir(), 'segmap-bench-'));
    try {
      const out = join(dir, 'rss');
      const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, 'true']);
      if (r.status === 0 && /^\d+\s*$/m.test(readFileSync(out, 'utf8'))) return (methodCache = 'gnu-time');
    } catch { /* not GNU time (BusyBox, BSD): fall through */ } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (existsSync(`/proc/${process.pid}/status`)) return (methodCache = 'proc-vmhwm');
  return (methodCache = 'none');
}

function vmhwmKB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function runMeasured(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ChildResult> {
  const method = rssMethod();
  const maxCapture = opts.maxCapture ?? 1 << 20;
  let tmp: string | undefined;
  let rssFile: string | undefined;
  let file = cmd;
  let argv = [...args];
  if (method === 'gnu-time') {
    tmp = mkdtempSync(join(tmpdir(), 'segmap-bench-'));
    rssFile = join(tmp, 'rss');
    file = '/usr/bin/time';
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stdoutLines = 0;
    let stdoutBytes = 0;
    let stderr = '';
    let hwm = 0;
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => {
      stdoutBytes += c.length;
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) stdoutLines++;
      if (stdout.length < maxCapture) stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 1 << 20) stderr += c.toString('utf8');
      if (opts.echoStderr) process.stderr.write(c);
    });
    child.stdin.end(opts.stdin ?? '');
    const poll = method === 'proc-vmhwm' && child.pid !== undefined
      ? setInterval(() => { const v = vmhwmKB(child.pid!); if (v !== undefined && v > hwm) hwm = v; }, 25)
      : undefined;
    const timer = opts.timeoutMs
      ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => {
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
      let peakKB: number | undefined;
      if (method === 'gnu-time' && rssFile) {
        try {
          // On a non-zero exit GNU time writes "Command exited with non-zero status N" before the figure.
          const nums = readFileSync(rssFile, 'utf8').split('\n').filter((l) => /^\d+$/.test(l.trim()));
          if (nums.length > 0) peakKB = Number(nums[nums.length - 1]);
        } catch { /* killed before time wrote it */ }
      } else if (method === 'proc-vmhwm' && hwm > 0) peakKB = hwm;
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      // GNU time reports the child's own exit status as its own.
      resolve({
        code, signal, stdout, stdoutLines, stdoutBytes, stderr, wallSeconds, timedOut,
        peakRssMB: peakKB === undefined ? undefined : peakKB / 1024, rssMethod: method,
      });
    });
  });
}
