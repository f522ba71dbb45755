import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OIDC_MAPPING, DEFAULT_SAML_MAPPING } from '../../src/modules/connections/attribute-mapping.js';
import { createConnectionBody } from '../../src/modules/connections/schema.js';

/** The IdP guides must stay true to the code they describe. */
const ROOT = resolve(import.meta.dirname, '../..');
const guides = join(ROOT, 'docs/guides');
const read = (f: string) => readFileSync(join(guides, f), 'utf8');

describe('IdP guides', () => {
  it('list every default attribute and claim name the connections read', () => {
    const common = read('README.md');
    const ws = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';
    const entra = 'http://schemas.microsoft.com/identity/claims/';
    for (const mapping of [DEFAULT_SAML_MAPPING, DEFAULT_OIDC_MAPPING]) {
      for (const names of Object.values(mapping)) {
        // Long claim URIs are written once in full and then abbreviated as …/claims/<name>.
        for (const n of names) expect(common.includes(`\`${n}\``) || common.includes(`\`…/claims/${n.replace(ws, '').replace(entra, '')}\``), n).toBe(true);
      }
    }
  });

  it('show connection bodies that the API accepts', () => {
    let checked = 0;
    for (const file of readdirSync(guides).filter((f) => f.endsWith('.md'))) {
      for (const block of read(file).matchAll(/```json\n([\s\S]*?)```/g)) {
        const json = JSON.parse(block[1]!) as Record<string, unknown>;
        if (!('type' in json)) continue;
        const parsed = createConnectionBody.safeParse(json);
        expect(parsed.success, `${file}: ${parsed.error?.message}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  it('link every guide from the index and the README', () => {
    const index = read('README.md');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const file of readdirSync(guides).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
      expect(index).toContain(`(${file})`);
      expect(readme).toContain(`(docs/guides/${file})`);
    }
  });
});
