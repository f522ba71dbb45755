import type { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementApi } from '../../src/app.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method+path the management API router really serves, found by walking express's stack. */
function servedRoutes(router: Router): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack);
  return out;
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('OpenAPI document', () => {
  it('is served without a key as OpenAPI 3.1', async () => {
    const res = await t.api('GET', '/api/v1/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.servers[0].url).toBe(`${t.url}/api/v1`);
  });

  it('lists every route the API serves, with the zod-derived schemas', async () => {
    const doc = (await t.api('GET', '/api/v1/openapi.json', { key: null })).body as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`)),
    );
    const served = servedRoutes(managementApi(t.container)).filter((r) => r !== 'GET /openapi.json');
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);

    const create = doc.paths['/organizations']!.post as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> } };
    const schema = create.requestBody.content['application/json']!.schema;
    expect(Object.keys(schema.properties)).toEqual(['name', 'display_name']);
    expect(schema.required).toEqual(['name']);
    const list = doc.paths['/organizations']!.get as { parameters: { name: string }[] };
    expect(list.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['take', 'from']));
  });
});
