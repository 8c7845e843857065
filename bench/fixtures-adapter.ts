/**
 * The one place the benchmark touches fixtures/lib (written concurrently by the scenario-generator work). If its
 * API moves, only this adapter changes; the traffic model and harness stay as they are.
 */
export { K8S_NAME_ALPHABET, Prng } from '../fixtures/lib/prng.js';
export {
  compileLineFormatter,
  headerLine,
  VpcLogWriter,
  type VpcField,
  type VpcRecord,
} from '../fixtures/lib/vpc-writer.js';
