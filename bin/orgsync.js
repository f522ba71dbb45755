#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so no build step is needed after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
await runCli(globalThis.process.argv);
