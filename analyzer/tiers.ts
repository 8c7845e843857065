/**
 * Graduated trust: which tier each namespace and workload is in, from a small config file and/or the
 * `segmap.io/tier` label, and the intents annotated with it (the emitters turn a tier into its encoding). Pure: the
 * config arrives parsed (ui/ reads and parses the file), the cluster objects and workloads come from the identity.
 *
 *   tier 1 — internal, low friction: ingress least privilege; egress open except the cloud metadata service and
 *            admin ports;
 *   tier 2 — sensitive: ingress and egress least privilege, mTLS PERMISSIVE;
 *   tier 3 — critical: default deny, STRICT mTLS, internet egress by DNS name only.
 *
 * Precedence, first that applies: config `workloads` > config `namespaces` > the workload's label (the controller's
 * own labels, then its pod template's) > the Namespace's label > config `default` > tier 2.
 * Without a config file and without any tier label, nothing is tiered: the output is what segmap wrote before tiers.
 */
import { endpointId, isWorkloadKind, TIER_KEY, type IntentSet, type K8sObject, type Tier, type TierChoice } from '../model/index.js';
import type { Workload } from './identity.js';

export const TIERS: readonly Tier[] = [1, 2, 3];
/** The tier of anything nothing else assigns once tiers are in use: today's least privilege, mTLS PERMISSIVE. */
export const DEFAULT_TIER: Tier = 2;

export interface TierConfig {
  /** Where it came from, for messages. */
  file: string;
  default?: Tier;
  /** Namespace → tier. */
  namespaces: Record<string, Tier>;
  /** `ns/name` (any kind) or `ns/name[Kind]` → tier. */
  workloads: Record<string, Tier>;
}

const TOP_KEYS = ['default', 'namespaces', 'workloads'];
const WORKLOAD_KEY = /^([^/\s[\]]+)\/([^/\s[\]]+)(?:\[([A-Za-z]+)\])?$/;

/** A tier written as 1, "1", "tier1" or "tier-1"; undefined otherwise. */
export function parseTier(v: unknown): Tier | undefined {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim().toLowerCase().replace(/^tier[-_ ]?/, '') : '';
  return text === '1' || text === '2' || text === '3' ? (Number(text) as Tier) : undefined;
}

const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

/**
 * Validate a parsed tier config (YAML or JSON). Throws `Error("FILE: reason")` on the first problem, so the user sees
 * exactly which entry to fix:
 *
 *   default: 2
 *   namespaces: { payments: 3, tools: 1 }
 *   workloads: { "shop/frontend": 1, "shop/reindex[CronJob]": 3 }
 */
export function validateTierConfig(raw: unknown, file: string): TierConfig {
  const fail = (reason: string): never => {
    throw new Error(`${file}: ${reason}`);
  };
  if (raw === null || raw === undefined) fail('empty: expected a mapping with default, namespaces and/or workloads');
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(`expected a mapping with default, namespaces and/or workloads, got ${Array.isArray(raw) ? 'a list' : typeof raw}`);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!TOP_KEYS.includes(k)) fail(`unknown key "${k}" (expected ${TOP_KEYS.join(', ')})`);
  const tierAt = (where: string, v: unknown): Tier => parseTier(v) ?? fail(`${where}: tier must be 1, 2 or 3, got ${shown(v)}`);
  const map = (key: string, checkKey: (k: string) => string | undefined): Record<string, Tier> => {
    const v = obj[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) fail(`${key}: expected a mapping of ${key === 'namespaces' ? 'namespace' : '"ns/name"'} to tier, got ${Array.isArray(v) ? 'a list' : shown(v)}`);
    const out: Record<string, Tier> = {};
    for (const [k, t] of Object.entries(v as Record<string, unknown>)) {
      const bad = checkKey(k);
      if (bad) fail(`${key}: "${k}": ${bad}`);
      out[k] = tierAt(`${key}.${k}`, t);
    }
    return out;
  };
  const namespaces = map('namespaces', (k) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(k) && k.length <= 63 ? undefined : 'not a namespace name'));
  const workloads = map('workloads', (k) => {
    const m = WORKLOAD_KEY.exec(k);
    if (!m) return 'expected "namespace/name" or "namespace/name[Kind]"';
    return m[3] && !isWorkloadKind(m[3]) ? `unknown kind ${m[3]} (Deployment, StatefulSet, DaemonSet, CronJob, Job or Pod)` : undefined;
  });
  return { file, ...(obj.default !== undefined ? { default: tierAt('default', obj.default) } : {}), namespaces, workloads };
}

export interface TierAssignment {
  /** Tiers are in use: a config was given or some Namespace / workload carries a valid tier label. */
  enabled: boolean;
  /** Workload id (`ns/name[Kind]`) → its tier and why. */
  workloads: ReadonlyMap<string, TierChoice>;
  /** Namespace → its own tier (namespace-wide objects) and why. */
  namespaces: ReadonlyMap<string, TierChoice>;
  /** Config entries matching nothing, labels that are not a tier: reported, never fatal. */
  warnings: string[];
}

export interface TierInput {
  workloads: readonly Workload[];
  /** The cluster now (Namespaces and controllers, for their labels). */
  current: readonly K8sObject[];
  config?: TierConfig;
}

/** The workload's own tier label: on the controller, else on its pod template, else on its pods. */
function workloadLabel(w: Workload, controllers: ReadonlyMap<string, K8sObject>): { value: string; where: string } | undefined {
  const c = controllers.get(endpointId(w.endpoint));
  const template = c?.kind === 'CronJob' ? c.spec?.jobTemplate?.spec?.template : c?.spec?.template;
  const candidates: [Record<string, string> | undefined, string][] = [
    [c?.metadata.labels, 'workload label'],
    [template?.metadata?.labels, 'pod template label'],
    [w.pod?.metadata.labels, 'pod label'],
  ];
  for (const [labels, where] of candidates) if (labels?.[TIER_KEY] !== undefined) return { value: labels[TIER_KEY], where };
  return undefined;
}

export function assignTiers(input: TierInput): TierAssignment {
  const warnings: string[] = [];
  const config = input.config;
  const nsObjects = new Map(input.current.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name, o]));
  const controllers = new Map(input.current.filter((o) => isWorkloadKind(o.kind))
    .map((o) => [endpointId({ kind: o.kind as Workload['endpoint']['kind'], namespace: o.metadata.namespace ?? 'default', name: o.metadata.name }), o]));
  const label = (value: string, what: string): Tier | undefined => {
    const t = parseTier(value);
    if (t === undefined) warnings.push(`${what}: label ${TIER_KEY}=${JSON.stringify(value)} is not 1, 2 or 3; ignored`);
    return t;
  };
  const namespaces = new Set([...input.workloads.map((w) => w.endpoint.namespace), ...nsObjects.keys()]);
  const nsLabel = new Map<string, Tier>();
  for (const ns of namespaces) {
    const v = nsObjects.get(ns)?.metadata.labels?.[TIER_KEY];
    const t = v === undefined ? undefined : label(v, `namespace ${ns}`);
    if (t) nsLabel.set(ns, t);
  }
  const wLabel = new Map<string, { tier: Tier; where: string }>();
  for (const w of input.workloads) {
    const l = workloadLabel(w, controllers);
    const t = l && label(l.value, endpointId(w.endpoint));
    if (l && t) wLabel.set(endpointId(w.endpoint), { tier: t, where: l.where });
  }
  const enabled = !!config || nsLabel.size > 0 || wLabel.size > 0;
  const fallback: TierChoice = config?.default ? { tier: config.default, source: `${config.file}: default` } : { tier: DEFAULT_TIER, source: 'default' };

  const nsChoice = new Map<string, TierChoice>();
  for (const ns of [...namespaces].sort()) {
    const c = config?.namespaces[ns];
    const l = nsLabel.get(ns);
    nsChoice.set(ns, c ? { tier: c, source: `${config!.file}: namespaces.${ns}` } : l ? { tier: l, source: `namespace label ${TIER_KEY}` } : fallback);
  }
  // Config workload keys: `ns/name[Kind]` exactly, or `ns/name` for every kind of that name.
  const byKey = new Map<string, { tier: Tier; key: string }>();
  for (const [key, tier] of Object.entries(config?.workloads ?? {})) byKey.set(key, { tier, key });
  const used = new Set<string>();
  const wChoice = new Map<string, TierChoice>();
  for (const w of [...input.workloads].sort((a, b) => endpointId(a.endpoint).localeCompare(endpointId(b.endpoint)))) {
    const id = endpointId(w.endpoint);
    const ns = w.endpoint.namespace;
    const cw = byKey.get(id) ?? byKey.get(`${ns}/${w.endpoint.name}`);
    if (cw) used.add(cw.key);
    const cn = config?.namespaces[ns];
    const l = wLabel.get(id);
    const nl = nsLabel.get(ns);
    wChoice.set(id,
      cw ? { tier: cw.tier, source: `${config!.file}: workloads.${cw.key}` }
        : cn ? { tier: cn, source: `${config!.file}: namespaces.${ns}` }
          : l ? { tier: l.tier, source: `${l.where} ${TIER_KEY}` }
            : nl ? { tier: nl, source: `namespace label ${TIER_KEY}` }
              : fallback);
  }
  for (const key of byKey.keys()) if (!used.has(key)) warnings.push(`${config!.file}: workloads.${key}: no such workload in the data`);
  for (const ns of Object.keys(config?.namespaces ?? {})) if (!namespaces.has(ns)) warnings.push(`${config!.file}: namespaces.${ns}: no such namespace in the data`);
  return { enabled, workloads: wChoice, namespaces: nsChoice, warnings: warnings.sort() };
}

/** The intents with their tiers; unchanged (untiered) when tiers are not in use. */
export function applyTiers(set: IntentSet, a: TierAssignment): IntentSet {
  if (!a.enabled) return set;
  const fallback: TierChoice = { tier: DEFAULT_TIER, source: 'default' };
  return {
    ...set,
    tiered: true,
    workloads: set.workloads.map((w) => ({ ...w, tier: a.workloads.get(w.id) ?? a.namespaces.get(w.namespace) ?? fallback })),
    namespaces: set.namespaces.map((n) => ({ ...n, tier: a.namespaces.get(n.namespace) ?? fallback })),
  };
}

/** What each tier means, one line each (summaries, README). */
export const TIER_DESCRIPTIONS: Readonly<Record<Tier, string>> = {
  1: 'internal, low friction: ingress least privilege; egress open except the cloud metadata service and admin ports',
  2: 'sensitive: ingress and egress least privilege; mTLS PERMISSIVE',
  3: 'critical: default deny; STRICT mTLS; outside egress by DNS name only (NetworkPolicy: the observed addresses exactly)',
};
