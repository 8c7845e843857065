/** ajv over the official schemas (../shared): OpenAPI's `int-or-string` and Kubernetes' `x-kubernetes-*` extensions aside. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { SHARED } from './scenario.js';

let ajvInstance: Ajv | undefined;

export function schemaAjv(): Ajv {
  if (ajvInstance) return ajvInstance;
  // Kubernetes schemas carry Go regular expressions: `\\PC` is `\\P{C}` to JavaScript.
  const regExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern.replace(/\\([pP])([A-Z])/g, '\\$1{$2}'), flags), { code: 'RegExp' });
  const ajv = new Ajv({ strict: false, allErrors: true, code: { regExp } });
  addFormats.default(ajv);
  ajv.addFormat('int-or-string', true);
  ajv.addFormat('idn-hostname', true);
  ajv.addFormat('cidr', (s: string) => /^[\d.]+\/\d{1,2}$|^[\da-f:]+\/\d{1,3}$/i.test(s));
  return (ajvInstance = ajv);
}

export const stripK8sExtensions = (v: unknown): unknown => (Array.isArray(v) ? v.map(stripK8sExtensions) : v && typeof v === 'object'
  ? Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-kubernetes-')).map(([k, x]) => [k, stripK8sExtensions(x)])) : v);

/** A validator for one served version of a CRD in a file under ../shared/fixtures (by CRD name, or the only CRD). */
export function crdValidator(rel: string, version: string, crdName?: string): ValidateFunction {
  const crd = parseAllDocuments(readFileSync(join(SHARED, rel), 'utf8')).map((d) => d.toJS())
    .find((d) => d?.kind === 'CustomResourceDefinition' && (!crdName || d.metadata?.name === crdName));
  if (!crd) throw new Error(`no CustomResourceDefinition ${crdName ?? ''} in ${rel}`);
  const v = crd.spec.versions.find((x: { name: string }) => x.name === version);
  if (!v) throw new Error(`no version ${version} of ${crd.metadata.name}`);
  return schemaAjv().compile(stripK8sExtensions(v.schema.openAPIV3Schema) as object);
}

/** The NetworkPolicy schema from the Kubernetes OpenAPI document. */
export function k8sNetworkPolicyValidator(rel: string): ValidateFunction {
  const ajv = schemaAjv();
  if (!ajv.getSchema('k8s-networking')) {
    const doc = JSON.parse(readFileSync(join(SHARED, rel), 'utf8'));
    ajv.addSchema({ $id: 'k8s-networking', components: doc.components });
  }
  return ajv.getSchema('k8s-networking#/components/schemas/io.k8s.api.networking.v1.NetworkPolicy')!;
}
