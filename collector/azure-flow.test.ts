import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowRecord } from '../model/index.js';
import { azureFlow } from './azure-flow.js';
import { readHead } from './lines.js';
import { detectSource } from './registry.js';
import { newReadContext } from './source.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(repoRoot, '../shared/fixtures/azure-flow-logs');
const NSG = join(dir, 'nsg-flow-log-v2.sample.json');
const VNET = join(dir, 'vnet-flow-log-v4.sample.json');

/** Through the source's line handler, as ingest feeds it (files split the way forEachLine splits them). */
function parseLines(lines: string[]) {
  const ctx = newReadContext('test.json');
  const records: FlowRecord[] = [];
  const h = azureFlow.open(ctx, (r) => records.push(r));
  lines.forEach((l, i) => h.line(l.replace(/\r$/, ''), i + 1));
  h.end?.();
  return { records, ctx };
}

const parseFile = (path: string) => parseLines(readFileSync(path, 'utf8').split('\n'));

describe.skipIf(!existsSync(NSG) || !existsSync(VNET))('azure fixtures (../shared missing)', () => {
  it('NSG v2: denied inbound by DefaultRule_DenyAllInBound, allowed outbound with both directions counted', () => {
    const { records, ctx } = parseFile(NSG);
    const nsg = 'nsg:/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/fabrikamrg/providers/microsoft.network/networksecuritygroups/fabriakmvm1-nsg/000D3AF87856';
    // 11 tuples; the three with dst→src counters (C/E) add the server's side.
    expect(ctx.counts).toEqual({ read: 11, skipped: {}, notes: { 'denied-by:DefaultRule_DenyAllInBound': 7 } });
    expect(records).toHaveLength(14);
    expect(records[0]).toEqual({ srcIp: '192.0.2.190', dstIp: '10.5.16.4', srcPort: 28746, dstPort: 443, protocol: 17, packets: 0, bytes: 0, start: 1542110402, end: 1542110402, action: 'REJECT', direction: 'ingress', observer: nsg, reply: false });
    expect(records[2]).toMatchObject({ srcIp: '198.51.100.8', dstPort: 8088, protocol: 6, action: 'REJECT' });
    // B: the outbound connection to 203.0.113.118:443 opens, no counters.
    expect(records[3]).toMatchObject({ srcIp: '10.5.16.4', dstIp: '203.0.113.118', srcPort: 59831, dstPort: 443, action: 'ACCEPT', direction: 'egress', packets: 0, bytes: 0, reply: false });
    // C: 30 packets / 16978 bytes out, 24 / 14008 back.
    expect(records[6]).toMatchObject({ srcIp: '10.5.16.4', dstIp: '203.0.113.115', srcPort: 44931, dstPort: 443, packets: 30, bytes: 16978, start: 1542110379, reply: false });
    expect(records[7]).toMatchObject({ srcIp: '203.0.113.115', dstIp: '10.5.16.4', srcPort: 443, dstPort: 44931, packets: 24, bytes: 14008, reply: true, action: 'ACCEPT' });
    // E: 15 / 8489 out, 12 / 7054 back.
    expect(records[8]).toMatchObject({ dstIp: '198.51.100.225', packets: 15, bytes: 8489 });
    expect(records[9]).toMatchObject({ srcIp: '198.51.100.225', packets: 12, bytes: 7054, reply: true });
    // Second record: four denied inbound attempts.
    expect(records.slice(10).map((r) => [r.srcIp, r.dstPort, r.action, r.start])).toEqual([
      ['125.64.94.197', 18264, 'REJECT', 1542110437], ['80.211.72.221', 8088, 'REJECT', 1542110475],
      ['46.101.199.124', 8088, 'REJECT', 1542110487], ['176.119.4.30', 52801, 'REJECT', 1542110490],
    ]);
    // No denied record is ever a reply, no server side is taken for a client.
    expect(records.every((r) => r.observer === nsg)).toBe(true);
  });

  it('VNet v4: millisecond times, B/E pairs, state D is denied, observer per ACL and MAC', () => {
    const { records, ctx } = parseFile(VNET);
    const allow = 'acl:00000000-1234-abcd-ef00-c1c2c3c4c5c6/00224871C205';
    const block = 'acl:01020304-abcd-ef00-1234-102030405060/00224871C205';
    expect(ctx.counts).toEqual({ read: 19, skipped: {}, notes: { 'denied-by:BlockHighRiskTCPPortsFromInternet': 2, 'denied-by:Internet': 7 } });
    expect(records[0]).toEqual({ srcIp: '10.0.0.6', dstIp: '52.239.184.180', srcPort: 23956, dstPort: 443, protocol: 6, packets: 0, bytes: 0, start: 1663146003, end: 1663146003, action: 'ACCEPT', direction: 'egress', observer: allow, reply: false });
    expect(records[1]).toMatchObject({ srcIp: '10.0.0.6', dstIp: '52.239.184.180', packets: 3, bytes: 767, reply: false });
    expect(records[2]).toMatchObject({ srcIp: '52.239.184.180', dstIp: '10.0.0.6', srcPort: 443, dstPort: 23956, packets: 2, bytes: 1580, reply: true });
    const last = records.filter((r) => r.observer === allow).at(-1)!;
    expect(last).toMatchObject({ srcIp: '104.16.218.84', packets: 33, bytes: 32466, start: 1663146022, reply: true });
    const denied = records.filter((r) => r.action === 'REJECT');
    expect(denied).toHaveLength(9);
    expect(denied.every((r) => r.observer === block && r.direction === 'ingress' && r.dstIp === '10.0.0.6' && !r.reply)).toBe(true);
    expect(denied.slice(0, 2).map((r) => [r.srcIp, r.srcPort, r.dstPort, r.start])).toEqual([['101.33.218.153', 55188, 22, 1663145998], ['192.241.200.164', 35276, 119, 1663146005]]);
  });

  it('detected by content', async () => {
    for (const p of [NSG, VNET]) expect(detectSource(await readHead(p), p)?.format).toBe('azure-flow');
  });
});

describe('azure-flow reader', () => {
  it('one-line JSON, NSG v1 tuples, bad tuples located on their own line', () => {
    const doc = { records: [{ resourceId: '/X/NSG', properties: { Version: 1, flows: [{ rule: 'r', flows: [{ mac: 'M', flowTuples: ['1542110402,10.0.0.1,10.0.0.2,40000,80,T,O,A'] }] }] } }] };
    expect(parseLines([JSON.stringify(doc)]).records).toMatchObject([{ srcIp: '10.0.0.1', dstPort: 80, protocol: 6, action: 'ACCEPT', observer: 'nsg:/x/nsg/M' }]);
    const bad = { records: [{ resourceId: '/X/NSG', properties: { Version: 2, flows: [{ rule: 'r', flows: [{ mac: 'M', flowTuples: [
      '1542110402,10.0.0.1,10.0.0.2,40000,80,T,O,A,B,,,,', '1542110402,10.0.0.1,nope,40000,80,T,O,A,B,,,,', '1542110402,10.0.0.1,10.0.0.2,40000,80,X,O,A,B,,,,',
      '1542110402,10.0.0.1,10.0.0.2,40000,80,T,O,Q,B,,,,', '1542110402,10.0.0.1,10.0.0.2,70000,80,T,O,A,B,,,,', '1,2,3',
    ] }] }] } }, { category: 'Other' }] };
    const { records, ctx } = parseLines(JSON.stringify(bad, null, 2).split('\n'));
    expect(records).toHaveLength(1);
    expect(ctx.issues.map((i) => i.reason)).toEqual(['bad-address', 'bad-value', 'bad-value', 'bad-number', 'bad-tuple', 'not-a-flow']);
    const lines = JSON.stringify(bad, null, 2).split('\n');
    expect(lines[ctx.issues[0].line! - 1]).toContain('nope');
  });
});
