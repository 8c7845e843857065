import type { Source } from './source.js';
import { awsVpc } from './aws-vpc.js';
import { hubble } from './hubble.js';
import { gcpVpc } from './gcp-vpc.js';
import { azureFlow } from './azure-flow.js';
import { pcap } from './pcap.js';
import { pcapng } from './pcapng.js';
import { zeek } from './zeek.js';
import { k8sAudit } from './k8s-audit.js';
import { k8sDump } from './k8s-dump.js';

/**
 * Every format segmap reads, in detection order: the most specific first, so a flow format whose lines happen to be
 * JSON is claimed before the generic Kubernetes-object reader.
 */
export const SOURCES: readonly Source[] = [awsVpc, pcap, pcapng, hubble, gcpVpc, azureFlow, zeek, k8sAudit, k8sDump];

/** Binary formats (captures) are told by their first bytes (`bytes`); text formats by the decoded head. */
export function detectSource(head: string, path: string, bytes?: Uint8Array): Source | undefined {
  const binary = bytes ? SOURCES.find((s) => s.kind === 'flows' && s.detectBytes?.(bytes)) : undefined;
  if (binary) return binary;
  if (head.trim().length === 0) return undefined;
  return SOURCES.find((s) => s.detect(head, path));
}

/** The source named `format` (`ingest --format`), or undefined. */
export function sourceByFormat(format: string): Source | undefined {
  return SOURCES.find((s) => s.format === format);
}
