import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Each command lives in its own file and registers itself here, so commands never edit each other. Modules load
 * lazily: `segmap ingest` should not pay for express or the Kubernetes client (≈0.6 s) at every start.
 * Order is the order of `--help`.
 */
const COMMANDS: readonly [name: string, load: () => Promise<Register>][] = [
  ['ingest', async () => (await import('./ingest.js')).registerIngest],
  ['collect', async () => (await import('./collect.js')).registerCollect],
  ['graph', async () => (await import('./graph.js')).registerGraph],
  ['findings', async () => (await import('./findings.js')).registerFindings],
  ['simulate', async () => (await import('./simulate.js')).registerSimulate],
  ['policies', async () => (await import('./policies.js')).registerPolicies],
  ['sa-audit', async () => (await import('./sa-audit.js')).registerSaAudit],
  ['connectivity', async () => (await import('./connectivity.js')).registerConnectivity],
  ['serve', async () => (await import('./serve.js')).registerServe],
  ['demo', async () => (await import('./demo.js')).registerDemo],
];

/** The subcommand named on the command line, skipping the global `--db FILE`; undefined for help, version or a typo. */
export function invokedCommand(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--db') { i++; continue; }
    if (a.startsWith('-')) continue;
    return COMMANDS.some(([name]) => name === a) ? a : undefined;
  }
  return undefined;
}

/** Register the invoked command only, none for `--version`, every command for help or a name we do not know. */
export async function registerCommands(program: Command, argv: readonly string[] = []): Promise<void> {
  const only = invokedCommand(argv);
  if (!only && argv.some((a) => a === '-V' || a === '--version')) return;
  for (const [name, load] of COMMANDS) if (!only || name === only) (await load())(program);
}
