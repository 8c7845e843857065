/**
 * Numbered, append-only schema migrations. Never edit a released step: add the next one.
 * `PRAGMA user_version` records how many have run.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: inputs registry, cluster snapshots, flow aggregates.
  `
  CREATE TABLE inputs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    records_read INTEGER NOT NULL DEFAULT 0,
    skipped_json TEXT NOT NULL DEFAULT '{}',
    issues_json TEXT NOT NULL DEFAULT '[]',
    -- 0 when the read ended early (truncated gzip, I/O error): what came before is kept.
    complete INTEGER NOT NULL DEFAULT 1
  );
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    input_id INTEGER NOT NULL REFERENCES inputs(id),
    taken_at INTEGER NOT NULL
  );
  CREATE TABLE k8s_objects (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT,
    json TEXT NOT NULL
  );
  CREATE INDEX k8s_objects_snapshot ON k8s_objects(snapshot_id);
  CREATE TABLE flow_aggregates (
    input_id INTEGER NOT NULL REFERENCES inputs(id),
    observer TEXT NOT NULL,
    src_ip TEXT NOT NULL,
    dst_ip TEXT NOT NULL,
    src_port INTEGER NOT NULL,
    dst_port INTEGER NOT NULL,
    protocol INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    flows INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    tcp_flags INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  );
  CREATE INDEX flow_aggregates_bucket ON flow_aggregates(bucket);
  `,
  // 2: live collection (`segmap collect k8s`). A watch event is stored as a one-object snapshot marked with its
  // type: it proves nothing about objects it does not name (never evidence of absence); DELETED ends its object at
  // `taken_at`. A live listing records the kinds it listed completely, cluster-wide.
  `
  ALTER TABLE snapshots ADD COLUMN event TEXT;
  ALTER TABLE snapshots ADD COLUMN kinds_json TEXT;
  `,
  // 3: flow sources that know identities (Hubble) and DNS evidence (captures, Zeek dns.log, Hubble names). An identity
  // ('' when the source had none) decides attribution instead of the address; a DNS answer names an address for its
  // TTL window.
  `
  ALTER TABLE flow_aggregates ADD COLUMN src_identity TEXT NOT NULL DEFAULT '';
  ALTER TABLE flow_aggregates ADD COLUMN dst_identity TEXT NOT NULL DEFAULT '';
  CREATE TABLE dns_names (
    input_id INTEGER NOT NULL REFERENCES inputs(id),
    ip TEXT NOT NULL,
    name TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  );
  CREATE INDEX dns_names_ip ON dns_names(ip);
  `,
  // 4: API-server audit-log aggregates (collector/k8s-audit.ts), written by ingest into their own table.
  `
  CREATE TABLE audit_aggregates (
    input_id INTEGER NOT NULL REFERENCES inputs(id),
    user TEXT NOT NULL,
    verb TEXT NOT NULL,
    api_group TEXT NOT NULL,
    resource TEXT NOT NULL,
    subresource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    non_resource_url TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
  );
  CREATE INDEX audit_aggregates_user ON audit_aggregates(user);
  `,
];
