import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { registerCommands } from './commands/index.js';
import { UsageError, InputError } from './errors.js';

export function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/ui/cli → package root
  for (const up of ['../../..', '../..']) {
    try {
      return JSON.parse(readFileSync(join(here, up, 'package.json'), 'utf8')).version as string;
    } catch { /* try the next layout */ }
  }
  return '0.0.0';
}

export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('segmap')
    .description('Map service-to-service traffic and egress in Kubernetes estates; turn the map into least-privilege policy.')
    .version(packageVersion(), '-V, --version')
    .option('--db <file>', 'SQLite database file', './segmap.db')
    .showHelpAfterError()
    .exitOverride();
  await registerCommands(program, argv);
  return program;
}

/** The one place where errors become exit codes: 0 ok, 1 bad input or failed check, 2 usage. */
export async function runCli(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`segmap: ${e.message}\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`segmap: ${e.message}\n`);
      return 1;
    }
    const err = e as Error;
    process.stderr.write(`segmap: ${err.message}${err.cause ? ` (${(err.cause as Error).message ?? err.cause})` : ''}\n`);
    return 1;
  }
}
