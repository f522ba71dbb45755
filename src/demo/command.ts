import type { Config } from '../config/index.js';
import { DemoPeersMissing } from './peers.js';
import { demoInstructions, startDemo } from './start-demo.js';

export interface DemoCommandOptions {
  port: string;
  idpPort: string;
  dataDir: string;
  logLevel: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const portOf = (flag: string, v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new Error(`${flag} must be a port number (got "${v}")`);
  return n;
};

/** `orgsync demo`: start, print where to click, run until Ctrl+C. FOR DEMONSTRATION ONLY. */
export async function runDemoCommand(opts: DemoCommandOptions, base: Config): Promise<void> {
  const level = LEVELS.find((l) => l === opts.logLevel);
  if (!level) throw new Error(`--log-level must be one of ${LEVELS.join(', ')}`);
  let demo;
  try {
    demo = await startDemo({ port: portOf('--port', opts.port), idpPort: portOf('--idp-port', opts.idpPort), dataDir: opts.dataDir, base: { ...base, logLevel: level } });
  } catch (err) {
    if (err instanceof DemoPeersMissing) throw err;
    throw new Error(`the demo could not start: ${(err as Error).message}`);
  }
  process.stdout.write(`${demoInstructions(demo)}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void demo.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
