import type { Command } from 'commander';

/** Each command lives in its own file and registers itself here, so commands never edit each other. */
export function registerCommands(program: Command): void {
  void program;
}
