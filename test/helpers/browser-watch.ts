import { mkdirSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * What a person would see go wrong in a real browser and an HTTP-level test cannot: Content-Security-
 * Policy violations (a blocked form post, style or script), requests that failed or were blocked,
 * requests silently upgraded to https, and pages wider than the window.
 */
export class BrowserWatch {
  readonly problems: string[] = [];
  private shots = 0;

  constructor(private readonly screenshotDir: string) {
    mkdirSync(screenshotDir, { recursive: true });
  }

  async attach(context: BrowserContext): Promise<void> {
    // Runs before any page script and outside the page's CSP: every violation reaches the console.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} on ${e.documentURI}`);
      });
    });
    context.on('console', (m) => {
      const text = m.text();
      // Chromium asks every site for /favicon.ico (the test IdP's too); a 404 there is not a problem of the page.
      if (/favicon\.ico/.test(`${text} ${m.location().url}`)) return;
      if (m.type() === 'error' || /Content Security Policy|violates|Refused to/i.test(text)) this.problems.push(`console ${m.type()} on ${m.page()?.url() ?? '?'}: ${text}`);
    });
    context.on('weberror', (e) => this.problems.push(`page error: ${e.error().message}`));
    context.on('request', (r) => {
      if (r.url().startsWith('https:')) this.problems.push(`request upgraded to https: ${r.method()} ${r.url()}`);
    });
    context.on('requestfailed', (r) => {
      const reason = r.failure()?.errorText ?? '';
      // A favicon fetch cut short by the next navigation is the browser's business.
      if (/favicon\.(ico|svg)$/.test(r.url()) && reason === 'net::ERR_ABORTED') return;
      this.problems.push(`request failed or blocked: ${r.method()} ${r.url()} (${reason})`);
    });
  }

  /** The page must not scroll sideways; then a full-page screenshot for a person to look at. */
  async check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState('load');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) this.problems.push(`${name} (${page.url()}) scrolls sideways by ${overflow}px at ${page.viewportSize()?.width}px`);
    this.shots += 1;
    await page.screenshot({ path: `${this.screenshotDir}/${String(this.shots).padStart(2, '0')}-${name}.png`, fullPage: true });
  }
}
