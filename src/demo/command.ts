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

/**
 * oidc-provider prints production advice (in-memory storage, development signing keys, development
 * login pages, Node 22 recommended) that describes exactly what a demo intends; keep the output to
 * what the newcomer should do, with one line saying what was hidden.
 */
function hideOpDevelopmentAdvice(): void {
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE)/.test(args[0])) return;
      original(...args);
    };
  }
}

/** `orgsync demo`: start, print where to click, run until Ctrl+C. FOR DEMONSTRATION ONLY. */
export async function runDemoCommand(opts: DemoCommandOptions, base: Config): Promise<void> {
  const level = LEVELS.find((l) => l === opts.logLevel);
  if (!level) throw new Error(`--log-level must be one of ${LEVELS.join(', ')}`);
  const port = portOf('--port', opts.port);
  const idpPort = portOf('--idp-port', opts.idpPort);
  hideOpDevelopmentAdvice();
  let demo;
  try {
    demo = await startDemo({ port, idpPort, dataDir: opts.dataDir, base: { ...base, logLevel: level } });
  } catch (err) {
    if (err instanceof DemoPeersMissing) throw err;
    throw new Error(`the demo could not start: ${(err as Error).message}`);
  }
  process.stdout.write(`${demoInstructions(demo)}\n  (The demo OpenID Provider's development-mode notices are hidden: in-memory storage and development keys are what a demo wants.)\n\n`);
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
