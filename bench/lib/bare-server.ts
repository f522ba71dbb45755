/**
 * The baseline of the out-of-process benchmarks, in a process of its own: a bare express app
 * answering a small JSON document. Prints its URL on stdout once it listens.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
app.get('/json', (_req, res) => {
  res.json({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, Resources: [{ id: 'x', userName: 'a@b.c' }] });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
