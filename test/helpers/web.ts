import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT } from './scenario.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const DEMO_INPUT = join(ROOT, 'fixtures', 'online-boutique', 'input');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** A policy for productcatalogservice that admits its documented callers only: the CronJob's traffic is what breaks. */
export const CATALOG_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: productcatalogservice
  namespace: boutique
spec:
  podSelector:
    matchLabels:
      app: productcatalogservice
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchExpressions:
              - { key: app, operator: In, values: [frontend, checkoutservice, recommendationservice] }
      ports:
        - { protocol: TCP, port: 3550 }
`;

/** Bundle the current ui/web sources into a fresh directory, so a test never runs against a stale dist/web. */
export function buildWebBundle(): string {
  const out = mkdtempSync(join(tmpdir(), 'segmap-webbundle-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs'), '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`web bundle build failed: ${r.stderr}`);
  return out;
}

/** Debian's chromium, headless, with a fresh profile: never a downloaded browser. */
export function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'segmap-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1500, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
