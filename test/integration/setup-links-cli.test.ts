import { afterAll, describe, expect, it } from 'vitest';
import { runCliHere } from '../helpers/cli.js';
import { processDatabases } from '../helpers/db.js';

const databases = processDatabases();
const databaseUrl = () => databases.url();
afterAll(() => databases.cleanup());

describe('orgsync setup-link', () => {
  it('creates a link (URL printed once), lists and revokes it', async () => {
    const env = { DATABASE_URL: await databaseUrl(), PUBLIC_URL: 'https://sso.example.com' };
    expect((await runCliHere(['org', 'create', 'acme'], env)).code).toBe(0);
    const created = await runCliHere(['setup-link', 'create', '--org', 'acme', '--intents', 'sso,directory', '--expires-in', '3600', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const link = JSON.parse(created.stdout);
    expect(link).toMatchObject({ intents: ['sso', 'directory'], status: 'active' });
    expect(link.url).toMatch(/^https:\/\/sso\.example\.com\/setup\?link=osl_/);

    const list = await runCliHere(['setup-link', 'list', '--org', 'acme'], env);
    expect(list.stdout).toContain(`${link.id}  active`);
    expect(list.stdout).not.toContain('osl_');

    expect((await runCliHere(['setup-link', 'revoke', link.id, '--org', 'acme'], env)).code).toBe(0);
    expect((await runCliHere(['setup-link', 'list', '--org', 'acme'], env)).stdout).toContain(`${link.id}  revoked`);
    const bad = await runCliHere(['setup-link', 'create', '--org', 'acme', '--intents', 'everything'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^orgsync: invalid setup link: intents/);
  });
});
