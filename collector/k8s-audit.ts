import type { AuditAggregate, AuditOutcome } from '../model/audit.js';
import type { AuditSource, ReadContext } from './source.js';

/**
 * Kubernetes API-server audit logs: `audit.k8s.io/v1` Event JSON lines (the log backend's format; an `EventList` or
 * a single pretty-printed Event is read too). Events are folded into aggregates per (user, verb, resource, namespace,
 * apiGroup, subresource, outcome) with first/last time; request and response bodies are never kept.
 *
 * Its aggregates go to their own table (migration 4), never among the cluster's objects.
 */
export const k8sAudit: AuditSource = {
  kind: 'audit',
  format: 'k8s-audit',
  detect(head) {
    const t = head.trimStart();
    if (!t.startsWith('{')) return false;
    return /"apiVersion"\s*:\s*"audit\.k8s\.io\//.test(head)
      || (/"kind"\s*:\s*"Event(List)?"/.test(head) && /"auditID"\s*:/.test(head) && /"verb"\s*:/.test(head));
  },
  read(text, ctx) {
    const folder = new AuditFolder();
    const t = text.trimStart();
    // One JSON document (EventList / single Event, possibly pretty-printed) or JSON lines.
    const whole = t.startsWith('{') && !/\}\s*\n\s*\{/.test(t) ? tryParse(t) : undefined;
    if (whole !== undefined) {
      const events = isRecord(whole) && Array.isArray(whole.items) ? whole.items : [whole];
      for (const e of events) folder.add(e, ctx, undefined);
    } else {
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (!line) continue;
        const e = tryParse(line);
        if (e === undefined) ctx.issue({ line: i + 1, reason: 'bad-json' });
        else folder.add(e, ctx, i + 1);
      }
    }
    return folder.aggregates();
  },
};

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function eventTime(e: Record<string, any>): number | undefined {
  for (const s of [e.stageTimestamp, e.requestReceivedTimestamp, e.timestamp, e.metadata?.creationTimestamp]) {
    const ms = typeof s === 'string' ? Date.parse(s) : Number.NaN;
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

function outcomeOf(e: Record<string, any>): AuditOutcome {
  const decision = e.annotations?.['authorization.k8s.io/decision'];
  const code = e.responseStatus?.code;
  if (decision === 'forbid' || code === 401 || code === 403) return 'denied';
  if (typeof code === 'number') return 'allowed';
  if (decision === 'allow') return 'allowed';
  return e.stage === 'RequestReceived' ? 'unknown' : 'failed';
}

type Key = Omit<AuditAggregate, 'count' | 'firstSeen' | 'lastSeen'>;

/** Folds events into aggregates; one request logged at several stages counts once, by its most final stage. */
class AuditFolder {
  private readonly aggs = new Map<string, AuditAggregate>();
  /** auditIDs already counted with a response; RequestReceived-only ones wait in `pending`. */
  private readonly done = new Set<string>();
  private readonly pending = new Map<string, { key: Key; t: number }>();

  add(raw: unknown, ctx: ReadContext, line: number | undefined): void {
    if (!isRecord(raw) || raw.kind !== 'Event' || typeof raw.verb !== 'string' || !isRecord(raw.user)) {
      ctx.issue({ line, reason: 'not-an-audit-event' });
      return;
    }
    const t = eventTime(raw);
    if (t === undefined) {
      ctx.issue({ line, reason: 'no-timestamp' });
      return;
    }
    ctx.counts.read++;
    const ref = isRecord(raw.objectRef) ? raw.objectRef : {};
    const resource = str(ref.resource);
    const user = str(raw.impersonatedUser?.username) || str(raw.user.username) || 'system:anonymous';
    const key: Key = {
      user, verb: raw.verb, apiGroup: str(ref.apiGroup), resource, subresource: str(ref.subresource), namespace: str(ref.namespace),
      nonResourceURL: resource ? '' : str(raw.requestURI).split('?')[0], outcome: outcomeOf(raw),
    };
    const id = str(raw.auditID);
    if (key.outcome === 'unknown' && id) {
      if (!this.done.has(id) && !this.pending.has(id)) this.pending.set(id, { key, t });
      return;
    }
    if (id) {
      if (this.done.has(id)) return;
      this.done.add(id);
      this.pending.delete(id);
    }
    this.fold(key, t);
  }

  private fold(key: Key, t: number): void {
    const k = JSON.stringify(Object.values(key));
    const a = this.aggs.get(k);
    if (a) {
      a.count++;
      a.firstSeen = Math.min(a.firstSeen, t);
      a.lastSeen = Math.max(a.lastSeen, t);
    } else this.aggs.set(k, { ...key, count: 1, firstSeen: t, lastSeen: t });
  }

  aggregates(): AuditAggregate[] {
    for (const { key, t } of this.pending.values()) this.fold(key, t);
    this.pending.clear();
    return [...this.aggs.values()];
  }
}
