import { afterAll, describe, expect, it } from 'vitest';
import { runCliHere } from '../helpers/cli.js';
import { processDatabases } from '../helpers/db.js';
import { FakeGraph } from '../helpers/fake-graph.js';
import { loadConfig } from '../../src/config/index.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/platform/logger.js';
import { Builder } from '../helpers/builders.js';

const databases = processDatabases();
const databaseUrl = () => databases.url();
afterAll(() => databases.cleanup());

describe('orgsync directory sync', () => {
  it('runs a Microsoft Graph directory now, prints the run, and fails with one line when the run fails', async () => {
    const graph = await new FakeGraph().start();
    const env = { DATABASE_URL: await databaseUrl(), ORGSYNC_SECRET: 'cli-test-secret-0123456789' };
    const c = await createContainer({ config: loadConfig({ ...env, LOG_LEVEL: 'silent' }), logger: createLogger('silent') });
    try {
      const conn = await new Builder(c.db).connection({ name: 'acme-entra', domains: ['acme.com'] });
      const id = await c.pullDirectories.create(
        { connection_id: conn.id, kind: 'microsoft_graph', microsoft_graph: { tenant_id: 'tenant-1', client_id: 'app-1', client_secret: 'graph-secret', api_base_url: graph.apiBase, token_url: graph.tokenUrl } },
        { type: 'cli', id: null },
      );
      graph.addUser({ id: 'u-ada', displayName: 'Ada', userPrincipalName: 'ada@acme.com', mail: 'ada@acme.com', accountEnabled: true });

      const ok = await runCliHere(['directory', 'sync', '--directory', id, '--json'], env);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'succeeded', counts: { created: 1 } });
      expect(await c.db('scim_users').where({ directory_id: id })).toHaveLength(1);

      graph.clientSecret = 'changed';
      const failed = await runCliHere(['directory', 'sync', '--directory', id], env);
      expect(failed.code).toBe(1);
      expect(failed.stderr.trim().split('\n')).toHaveLength(1);
      expect(failed.stderr).toMatch(/^orgsync: sync .* failed: token_error/);
    } finally {
      await c.close();
      await graph.close();
    }
  });
});
