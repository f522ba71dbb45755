import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';

/** Everything a logger wrote, one parsed JSON object per line. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger('info', stream), text: () => lines.join('\n') };
}

it('keeps error codes and redacts the OIDC authorization code where it travels', () => {
  const { logger, text } = capture();
  logger.error({ err: Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }) }, 'request failed');
  logger.error({ err: Object.assign(new Error('duplicate key'), { code: '23505' }) }, 'request failed');
  logger.warn({ err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }, 'webhook worker round failed');
  logger.info({ code: 'idp_unavailable' }, 'sign-in refused');
  logger.info({ req: { path: '/sso/oidc/c/callback', query: { code: 'the-authorization-code', state: 's' } } }, 'callback');
  logger.info({ query: { code: 'another-authorization-code' } }, 'callback');
  const out = text();
  for (const code of ['SQLITE_BUSY', '23505', 'ECONNREFUSED', 'idp_unavailable']) expect(out).toContain(`"code":"${code}"`);
  expect(out).not.toContain('authorization-code');
  expect(out.match(/\[redacted\]/g)).toHaveLength(2);
});
