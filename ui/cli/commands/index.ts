import type { Command } from 'commander';
import { registerConnectivity } from './connectivity.js';
import { registerDemo } from './demo.js';
import { registerFindings } from './findings.js';
import { registerGraph } from './graph.js';
import { registerIngest } from './ingest.js';
import { registerPolicies } from './policies.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';

/** Each command lives in its own file and registers itself here, so commands never edit each other. */
export function registerCommands(program: Command): void {
  registerIngest(program);
  registerGraph(program);
  registerFindings(program);
  registerDemo(program);
  registerConnectivity(program);
  registerSimulate(program);
  registerPolicies(program);
  registerServe(program);
}
