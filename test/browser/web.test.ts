import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEstate } from '../../bench/web.js';
import { SqliteStore } from '../../store/sqlite.js';
import { ingestPaths } from '../../ui/ingest.js';
import { startServer, type RunningServer } from '../../ui/server/listen.js';
import { ROOT, tempDb } from '../helpers/scenario.js';
import { ARTIFACTS, buildWebBundle, CATALOG_POLICY, DEMO_INPUT, hasChromium, launchChromium } from '../helpers/web.js';

const FRONTEND = 'boutique/frontend[Deployment]';
const CRONJOB_EDGE = 'boutique/catalog-reindex[CronJob]|boutique/productcatalogservice[Deployment]|TCP|3550|allowed';
const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_SA = '<script>alert(3)</script>';

const suite = hasChromium ? describe : describe.skip;
const title = hasChromium ? 'browser tests (chromium, real server)' : 'browser tests: SKIPPED — /usr/bin/chromium not installed';

/** What the page exposes to tests (only when the test hook is set before load). */
interface Snapshot { nodes: string[]; groups: string[]; edges: { id: string; label: string; classes: string[] }[] }
const snapshot = (page: Page): Promise<Snapshot> => page.evaluate(() => {
  const cy = window.segmapTest!.cy()!;
  return {
    nodes: cy.nodes().not('.group').map((n) => n.id()).sort(),
    groups: cy.nodes('.group').map((n) => n.id()).sort(),
    edges: cy.edges().map((e) => ({ id: e.id(), label: String(e.data('label')), classes: e.classes() as unknown as string[] })),
  };
});

suite(title, () => {
  let store: SqliteStore;
  let server: RunningServer;
  let ctx: BrowserContext;
  let web: string;
  const problems: string[] = [];

  beforeAll(async () => {
    web = buildWebBundle();
    store = SqliteStore.open(tempDb('browser'));
    await ingestPaths(store, [DEMO_INPUT]);
    // A pod whose label and service account carry markup: it must show as text and never run.
    const dir = mkdtempSync(join(tmpdir(), 'segmap-hostile-'));
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [{
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: 'xss-probe', namespace: 'lab', uid: 'u-xss', creationTimestamp: '2026-11-01T11:30:00Z', labels: { app: HOSTILE } },
        spec: { serviceAccountName: HOSTILE_SA, nodeName: 'ip-10-0-26-37.ec2.internal', containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] },
        status: { phase: 'Running', podIP: '10.0.30.30' },
      }],
    }));
    await ingestPaths(store, [join(dir, 'hostile.json')]);
    server = await startServer({ store, port: 0, webRoot: web, proposer: async () => undefined, log: () => {} });
    ctx = await launchChromium();
    await ctx.addInitScript(() => { window.__SEGMAP_TEST_HOOK__ = true; });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await ctx?.close();
    await server?.close();
    await store?.close();
  });

  async function open(path = '/', ready = '#graph[data-state="ready"]'): Promise<Page> {
    const page = await ctx.newPage();
    page.on('console', (m: ConsoleMessage) => {
      // The manifests export is expected to answer 501 while ui/policies.ts is absent; the browser logs that.
      if ((m.type() === 'error' && !/status of 501/.test(m.text())) || /Content.Security.Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });
    await page.goto(new URL(path, server.url).href);
    try {
      await page.waitForSelector(ready, { timeout: 15_000 });
    } catch (e) {
      throw new Error(`${ready} never appeared: ${await page.textContent('body')} ${JSON.stringify(problems)}`, { cause: e });
    }
    return page;
  }

  async function clickNode(page: Page, id: string): Promise<void> {
    const p = await page.evaluate((nid) => window.segmapTest!.cy()!.getElementById(nid).renderedPosition(), id);
    const box = (await page.locator('#graph').boundingBox())!;
    await page.mouse.click(box.x + p.x, box.y + p.y);
  }

  it('loads the demo: namespaces as groups, every workload and edge of the scenario, read from the page', async () => {
    const page = await open();
    const s = await snapshot(page);
    expect(s.groups).toEqual(['group:external', 'ns:boutique', 'ns:kube-system', 'ns:lab']);
    expect(s.nodes).toContain(FRONTEND);
    expect(s.nodes).toContain('boutique/catalog-reindex[CronJob]');
    expect(s.nodes).toContain('10.0.0.50[External]');
    expect(s.edges).toHaveLength(32);
    expect(s.edges.find((e) => e.id === CRONJOB_EDGE)?.label).toBe('TCP/3550');
    expect(s.edges.filter((e) => e.label === 'UDP/53')).toHaveLength(13);
    await expect.poll(() => page.textContent('#status')).toMatch(/32 edges/);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-map.png') });
    await page.close();
  });

  it('clicking a workload opens its panel (labels, service account, peers, policy status); Back closes it', async () => {
    const page = await open();
    await clickNode(page, FRONTEND);
    await page.waitForSelector('#detail h2');
    expect(await page.textContent('#detail h2')).toBe('frontend');
    const detail = page.locator('#detail');
    await expect.poll(() => detail.textContent()).toContain('service account');
    expect(await page.locator('#detail table.labels').textContent()).toBe('appfrontend');
    expect(await page.locator('#detail section', { hasText: 'Inbound (3)' }).locator('tbody tr').count()).toBe(3);
    expect(await page.locator('#detail section', { hasText: 'Outbound (8)' }).locator('tbody tr').count()).toBe(8);
    await expect.poll(() => page.locator('[data-policies="unavailable"]').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('sel')).toBe(FRONTEND);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui.png') });
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get('sel')).toBeNull();
    await expect.poll(() => page.locator('#detail h2').count()).toBe(0);
    await page.close();
  });

  it('an edge opens the flows behind it', async () => {
    const page = await open(`/?edge=${encodeURIComponent(CRONJOB_EDGE)}`);
    await expect.poll(() => page.locator('#detail h2').textContent()).toBe('TCP/3550');
    expect(await page.locator('#detail table.flows tbody tr').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('filters narrow the graph and live in the URL', async () => {
    const page = await open();
    await page.selectOption('#f-namespace', 'kube-system');
    await expect.poll(() => new URL(page.url()).searchParams.get('namespace')).toBe('kube-system');
    await page.waitForSelector('#graph[data-state="ready"][data-edges="13"]');
    const s = await snapshot(page);
    expect(s.edges.every((e) => e.id.includes('kube-system/'))).toBe(true);
    await page.fill('#f-port', '3550');
    await page.press('#f-port', 'Enter');
    await page.waitForSelector('#graph[data-state="ready"][data-edges="0"]');
    await page.click('#f-reset');
    await page.waitForSelector('#graph[data-state="ready"][data-edges="32"]');
    await page.fill('#f-q', 'cart');
    await expect.poll(async () => (await page.evaluate(() => window.segmapTest!.cy()!.nodes('.match').map((n) => n.id()))).sort())
      .toEqual(['boutique/cartservice[Deployment]', 'boutique/redis-cart[Deployment]']);
    await page.close();
  });

  it('what would break: pasted policy YAML marks the flows it would drop on the graph', async () => {
    const page = await open();
    await page.click('button.tab[data-view="simulate"]');
    await page.fill('#sim-yaml', CATALOG_POLICY);
    await page.click('#sim-run');
    await expect.poll(() => page.textContent('#sim-summary')).toMatch(/would be dropped, on 1 edge/);
    const marked = (await snapshot(page)).edges.filter((e) => e.classes.includes('would-break')).map((e) => e.id);
    expect(marked).toEqual([CRONJOB_EDGE]);
    expect(await page.locator('#sim-result tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-simulate.png') });
    await page.close();
  });

  it('findings view: where to start (the risk ranking), then the findings in ranking order, sortable', async () => {
    const page = await open('/?view=findings', 'table.findings-table tbody tr');
    expect(await page.locator('table.findings-table tbody tr').count()).toBeGreaterThan(5);
    const risk = (await (await fetch(new URL('/api/v1/risk', server.url))).json()) as { workload: string; score: number; rank: number }[];
    const scored = risk.filter((r) => r.score > 0);
    expect(await page.locator('ol.risk-ranking li').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.workload)))
      .toEqual(scored.slice(0, 10).map((r) => r.workload));
    // Default order: the rank of the workload each finding concerns, ascending (service-account findings last).
    const ranks = (await page.locator('table.findings-table tbody tr td:first-child').allTextContents()).map((t) => (t === '' ? Infinity : Number(t)));
    expect(ranks[0]).toBe(1);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    await page.click('button.sort[data-sort="id"]');
    await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('id');
    await page.close();
  });

  it('service accounts: the audit as a sortable table; a row opens its findings and workloads; a workload opens on the map', async () => {
    const page = await open('/?view=findings', 'table.findings-table tbody tr');
    await page.click('button.tab[data-view="sa"]');
    await page.waitForSelector('table.sa-table tbody tr');
    const rows = () => page.locator('table.sa-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    const all = await rows();
    const names = all.map((r) => `${r[0]}/${r[1]}`);
    expect(names).toEqual(expect.arrayContaining(['boutique/default', 'boutique/frontend', 'kube-system/coredns', 'kube-system/default']));
    const dflt = all.find((r) => r[0] === 'boutique' && r[1] === 'default')!;
    expect(dflt.slice(2, 6)).toEqual(['1', 'mounted', '—', '1 medium1 low']);
    expect(all.find((r) => r[0] === 'kube-system' && r[1] === 'default')!.slice(2, 4)).toEqual(['0', 'not mounted']);
    // Default order: most severe findings first.
    expect(all[0][5]).toMatch(/medium/);
    expect(all[all.length - 1][5]).toBe('—');
    // Sort by name, then descending.
    await page.click('table.sa-table button.sort[data-sort="name"]');
    await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('name');
    await expect.poll(async () => (await rows()).map((r) => r[1])).toEqual([...all.map((r) => r[1])].sort((a, b) => a.localeCompare(b)));
    await page.click('table.sa-table button.sort[data-sort="name"]');
    await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('-name');
    await expect.poll(async () => (await rows())[0][1]).toBe('shippingservice');
    // Detail: findings and workloads of boutique/default.
    await page.locator('table.sa-table tr[data-sa="boutique/default"] button.link').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('sa')).toBe('boutique/default');
    await expect.poll(() => page.locator('#detail h2').textContent()).toBe('default');
    expect((await page.locator('#detail ul.findings code').allTextContents()).sort()).toEqual(['AUTOMOUNT_TOKEN_UNUSED', 'DEFAULT_SERVICE_ACCOUNT']);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-service-accounts.png') });
    await page.locator('#detail ul.sa-workloads button', { hasText: 'boutique/redis-cart[Deployment]' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBeNull();
    expect(new URL(page.url()).searchParams.get('sel')).toBe('boutique/redis-cart[Deployment]');
    await page.waitForSelector('#graph[data-state="ready"]');
    await expect.poll(() => page.locator('#detail h2').textContent()).toBe('redis-cart');
    await page.goBack();
    await expect.poll(() => page.locator('#detail h2').textContent()).toBe('default');
    await page.close();
  });

  it('exports PNG, SVG and JSON', async () => {
    const page = await open();
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    const pngPath = join(ARTIFACTS, 'segmap-map.png');
    await png.saveAs(pngPath);
    expect(readFileSync(pngPath).subarray(1, 4).toString()).toBe('PNG');
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    const jsonPath = join(ARTIFACTS, 'segmap-graph.json');
    await json.saveAs(jsonPath);
    expect((JSON.parse(readFileSync(jsonPath, 'utf8')) as { edges: unknown[] }).edges).toHaveLength(32);
    const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
    const svgPath = join(ARTIFACTS, 'segmap-map.svg');
    await svg.saveAs(svgPath);
    const svgText = readFileSync(svgPath, 'utf8');
    expect(svgText.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svgText).toContain('>frontend</text>');
    expect((svgText.match(/<line /g) ?? []).length).toBe(32);
    // Well-formed XML: the browser's own parser accepts it.
    expect(await page.evaluate((t) => new DOMParser().parseFromString(t, 'image/svg+xml').getElementsByTagName('parsererror').length, svgText)).toBe(0);
    await page.click('#export-manifests');
    await expect.poll(() => page.textContent('#toasts')).toMatch(/Not available yet/);
    await page.close();
  });

  it('hostile label: markup from the cluster is shown as text and never runs', async () => {
    const page = await open(`/?sel=${encodeURIComponent('lab/xss-probe[Pod]')}&q=${encodeURIComponent(HOSTILE)}`);
    await page.waitForSelector('#detail table.labels');
    expect(await page.locator('#detail table.labels td').textContent()).toBe(HOSTILE);
    await expect.poll(() => page.getByText(HOSTILE_SA, { exact: true }).count()).toBe(1);
    expect(await page.locator('img[src="x"], #detail script').count()).toBe(0);
    // The service account named with markup: a row and a panel of text.
    await page.click('button.tab[data-view="sa"]');
    const row = page.locator('table.sa-table tbody tr', { hasText: HOSTILE_SA });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.locator('td').nth(1).textContent()).toBe(`${HOSTILE_SA}missing`);
    await row.locator('button.link').click();
    await expect.poll(() => page.locator('#detail h2').textContent()).toBe(HOSTILE_SA);
    expect(await page.locator('#detail ul.sa-workloads').textContent()).toContain('lab/xss-probe[Pod]');
    expect(await page.locator('script:not([src])').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(problems.filter((p) => p.startsWith('dialog'))).toEqual([]);
    await page.close();
  });

  it.skipIf(!existsSync(join(ROOT, 'ui', 'policies.ts')))('with policy generation: the panel shows the workload\'s proposed policies, with copy and download', async () => {
    const real = await startServer({ store, port: 0, webRoot: web, log: () => {} });
    try {
      const page = await ctx.newPage();
      page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });
      await page.goto(new URL(`/?sel=${encodeURIComponent(FRONTEND)}`, real.url).href);
      await page.waitForSelector('#detail .manifest pre.yaml', { timeout: 30_000 });
      expect(await page.locator("#detail .manifest pre.yaml").allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/kind: NetworkPolicy/)]));
      expect(await page.locator('#detail .manifest button', { hasText: 'Copy' }).count()).toBeGreaterThan(0);
      const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#detail .manifest button', { hasText: 'Download' }).first().click()]);
      expect(dl.suggestedFilename()).toMatch(/\.ya?ml$/);
      await page.screenshot({ path: join(ARTIFACTS, 'web-ui-policies.png') });
      await page.close();
    } finally {
      await real.close();
    }
  });

  it('a big estate opens in the packed grid with namespaces as plain boxes; the force layout makes them compound again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'segmap-big-'));
    const big = SqliteStore.open(join(dir, 'big.db'));
    const estate = writeEstate(dir, { workloads: 700, edges: 1500, namespaces: 7 });
    await ingestPaths(big, [estate.dump, estate.flows]);
    const srv = await startServer({ store: big, port: 0, webRoot: web, proposer: async () => undefined, log: () => {} });
    try {
      const page = await ctx.newPage();
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.goto(srv.url);
      await page.waitForSelector('#graph[data-state="ready"]', { timeout: 30_000 });
      const shape = () => page.evaluate(() => {
        const cy = window.segmapTest!.cy()!;
        return { boxes: cy.nodes('.box').length, parents: cy.nodes(':parent').length, workloads: cy.nodes().not('.group').length, edges: cy.edges().length };
      });
      expect(await shape()).toEqual({ boxes: 7, parents: 0, workloads: 700, edges: 1500 });
      expect(await page.textContent('#status')).toMatch(/packed layout/);
      // Each box encloses its members, as a compound parent would.
      expect(await page.evaluate(() => {
        const cy = window.segmapTest!.cy()!;
        return cy.nodes().not('.group').every((n) => {
          const b = cy.getElementById(n.data('box') as string).boundingBox({ includeLabels: false });
          const p = n.position();
          return p.x > b.x1 && p.x < b.x2 && p.y > b.y1 && p.y < b.y2;
        });
      })).toBe(true);
      // Search keeps the matching workload's box unfaded.
      await page.fill('#f-q', 'svc-0003');
      await expect.poll(() => page.evaluate(() => {
        const cy = window.segmapTest!.cy()!;
        return [cy.nodes('.match').map((n) => n.id()), cy.nodes('.box').not('.faded').map((n) => n.id())];
      })).toEqual([['team-03/svc-0003[Deployment]'], ['ns:team-03']]);
      await page.click('#relayout');
      await expect.poll(shape, { timeout: 60_000 }).toEqual({ boxes: 0, parents: 7, workloads: 700, edges: 1500 });
      await expect.poll(() => page.evaluate(() => window.segmapTest!.cy()!.nodes('.match').map((n) => n.id()))).toEqual(['team-03/svc-0003[Deployment]']);
      await page.close();
    } finally {
      await srv.close();
      await big.close();
    }
  }, 120_000);

  it('no CSP violation, script error or dialog on any page above', () => {
    expect(problems).toEqual([]);
  });
});
