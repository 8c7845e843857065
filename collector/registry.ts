import type { Source } from './source.js';
import { awsVpc } from './aws-vpc.js';
import { k8sDump } from './k8s-dump.js';

/**
 * Every format segmap reads, in detection order: the most specific first, so a flow format whose lines happen to be
 * JSON is claimed before the generic Kubernetes-object reader.
 */
export const SOURCES: readonly Source[] = [awsVpc, k8sDump];

export function detectSource(head: string, path: string): Source | undefined {
  if (head.trim().length === 0) return undefined;
  return SOURCES.find((s) => s.detect(head, path));
}
