import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium; the browser tests never download one. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.log(`[browser tests] skipped: ${CHROMIUM_PATH} is missing (apt-get install chromium)`);

/**
 * Each launch gets a fresh profile (playwright passes its own temporary --user-data-dir). `hosts`
 * maps test host names to 127.0.0.1 (`--host-resolver-rules`), so pages can be served over plain
 * http under a name that is not localhost, where Chromium applies upgrade-insecure-requests.
 */
export function launchBrowser(opts: { hosts?: string[] } = {}): Promise<Browser> {
  const rules = (opts.hosts ?? []).map((h) => `MAP ${h} 127.0.0.1`).join(',');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
    ],
  });
}

export const VIEWPORTS = {
  laptop: { width: 1366, height: 860 },
  phone: { width: 390, height: 844 },
} as const;

const RESULTS = 'test-results/admin';

/** Saves a full-page screenshot at laptop and phone width under test-results/ (git-ignored). */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const original = page.viewportSize();
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${RESULTS}/${name}-${label}.png`, fullPage: true });
  }
  if (original) await page.setViewportSize(original);
}
