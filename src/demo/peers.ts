/**
 * FOR DEMONSTRATION ONLY. The demo identity provider is built from development dependencies
 * (samlify, oidc-provider). They are loaded here, on demand, so that `npm start` and a
 * production install (`npm install --omit=dev`) never load or need them.
 */
export type Samlify = typeof import('samlify');
export type OidcProviderClass = typeof import('oidc-provider').default;

export interface DemoPeers {
  samlify: Samlify;
  Provider: OidcProviderClass;
}

export class DemoPeersMissing extends Error {
  constructor(missing: string[]) {
    super(
      `The demo identity provider needs the development dependencies ${missing.join(', ')}, which are not installed. ` +
        'Run `npm install` (without --omit=dev / --production) in the project folder, then `npm run demo` again.',
    );
    this.name = 'DemoPeersMissing';
  }
}

const isMissing = (err: unknown) => err instanceof Error && 'code' in err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND');

export async function loadDemoPeers(): Promise<DemoPeers> {
  const missing: string[] = [];
  const load = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (!isMissing(err)) throw err;
      missing.push(name);
      return undefined;
    }
  };
  const samlify = await load('samlify', async (): Promise<Samlify> => await import('samlify'));
  const Provider = await load('oidc-provider', async () => (await import('oidc-provider')).default);
  if (!samlify || !Provider) throw new DemoPeersMissing(missing);
  return { samlify, Provider };
}
