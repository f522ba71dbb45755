import { inTransaction } from '../../platform/transaction.js';
import type { Container } from '../../container.js';
import { AppError, conflict, invalidBody, notFound } from '../../platform/errors.js';
import { isUniqueViolation } from '../../platform/db-errors.js';
import type { Actor } from '../audit/types.js';
import { findDirectoryByConnection, insertDirectory } from '../directories/queries.js';
import { PullRunner, type PullOutcome } from './runner.js';
import { DEFAULT_SYNC_INTERVAL_SECONDS, type GoogleSettings, type GraphSettings, type PullKind, type PullSettings } from './settings.js';
import type { z } from 'zod';
import type { graphSettingsInput, googleSettingsInput, pullPatchBody } from './settings.js';
import { runView, type PullRunView } from './status.js';
import * as q from './queries.js';

export interface CreatePullInput {
  connection_id: string;
  name?: string;
  kind: PullKind;
  sync_interval_seconds?: number;
  microsoft_graph?: z.infer<typeof graphSettingsInput>;
  google_workspace?: z.infer<typeof googleSettingsInput>;
}

type PatchInput = z.infer<typeof pullPatchBody>;

/**
 * Pull directories' settings and "sync now". Secrets (client secret, service-account private
 * key) are sealed with the secret box, never returned, and replaced by a PATCH that names them.
 */
export class PullDirectoryService {
  readonly runner: PullRunner;

  constructor(private readonly c: Container, owner: string) {
    this.runner = new PullRunner(c, owner);
  }

  private split(input: CreatePullInput): { settings: PullSettings; secret: string } {
    const interval = input.sync_interval_seconds ?? DEFAULT_SYNC_INTERVAL_SECONDS;
    if (input.kind === 'microsoft_graph') {
      const g = input.microsoft_graph;
      if (!g || input.google_workspace) throw invalidBody('Invalid request body: microsoft_graph: required for kind microsoft_graph (and google_workspace not allowed).');
      const settings: GraphSettings = { tenant_id: g.tenant_id, client_id: g.client_id, api_base_url: g.api_base_url ?? null, token_url: g.token_url ?? null };
      return { settings: { sync_interval_seconds: interval, microsoft_graph: settings }, secret: g.client_secret };
    }
    const g = input.google_workspace;
    if (!g || input.microsoft_graph) throw invalidBody('Invalid request body: google_workspace: required for kind google_workspace (and microsoft_graph not allowed).');
    const settings: GoogleSettings = {
      client_email: g.service_account_key.client_email,
      admin_email: g.admin_email,
      customer_id: g.customer_id ?? null,
      domain: g.domain ?? null,
      api_base_url: g.api_base_url ?? null,
      token_url: g.token_url ?? null,
    };
    return { settings: { sync_interval_seconds: interval, google_workspace: settings }, secret: g.service_account_key.private_key };
  }

  /** Creates the directory; its first run is due at once. Returns its id. */
  async create(input: CreatePullInput, actor: Actor): Promise<string> {
    const { settings, secret } = this.split(input);
    const id = this.c.ids.uuid();
    const now = this.c.clock.now().toISOString();
    try {
      await inTransaction(this.c.db, async (trx) => {
        const connection = await trx('connections').where({ id: input.connection_id }).first<{ name: string } | undefined>('name');
        if (!connection) throw new AppError('invalid_body', 400, `Invalid request body: connection_id: no connection ${input.connection_id}.`);
        if (await findDirectoryByConnection(trx, input.connection_id)) throw directoryExists();
        await insertDirectory(trx, { id, connection_id: input.connection_id, name: input.name ?? connection.name, created_at: now, last_activity_at: null });
        await trx('directories').where({ id }).update({ kind: input.kind, pull_settings: JSON.stringify(settings), pull_secret_sealed: this.c.secretBox.seal(secret) });
        await q.insertState(trx, id, now);
        await this.c.audit.record(trx, { action: 'directory.created', actor, detail: { directory_id: id, connection_id: input.connection_id, kind: input.kind } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw directoryExists();
      throw err;
    }
    return id;
  }

  /** Changes settings; a new secret or key replaces the sealed one (rotation). */
  async update(id: string, patch: PatchInput, actor: Actor): Promise<void> {
    await inTransaction(this.c.db, async (trx) => {
      const row = await trx('directories').where({ id }).first<{ kind: string; pull_settings: string | null } | undefined>('kind', 'pull_settings');
      if (!row) throw notFound('Directory');
      if (row.kind === 'scim' || !row.pull_settings) {
        if (patch.microsoft_graph || patch.google_workspace || patch.sync_interval_seconds) throw invalidBody('Invalid request body: only name can change on a SCIM directory.');
        if (patch.name) await trx('directories').where({ id }).update({ name: patch.name });
        return;
      }
      const settings = JSON.parse(row.pull_settings) as PullSettings;
      const update: Record<string, unknown> = {};
      const rotated: string[] = [];
      if (patch.name) update.name = patch.name;
      if (patch.sync_interval_seconds) settings.sync_interval_seconds = patch.sync_interval_seconds;
      if (patch.microsoft_graph) {
        if (row.kind !== 'microsoft_graph' || !settings.microsoft_graph) throw invalidBody('Invalid request body: microsoft_graph: not a Microsoft Graph directory.');
        const { client_secret, ...rest } = patch.microsoft_graph;
        if (endpointChanged(rest, settings.microsoft_graph) && !client_secret) throw secretRequired('microsoft_graph', 'client_secret');
        Object.assign(settings.microsoft_graph, definedOnly(rest));
        if (client_secret) {
          update.pull_secret_sealed = this.c.secretBox.seal(client_secret);
          rotated.push('client_secret');
        }
      }
      if (patch.google_workspace) {
        if (row.kind !== 'google_workspace' || !settings.google_workspace) throw invalidBody('Invalid request body: google_workspace: not a Google Workspace directory.');
        const { service_account_key, ...rest } = patch.google_workspace;
        if (endpointChanged(rest, settings.google_workspace) && !service_account_key) throw secretRequired('google_workspace', 'service_account_key');
        Object.assign(settings.google_workspace, definedOnly(rest));
        if (settings.google_workspace.customer_id && settings.google_workspace.domain) throw invalidBody('Invalid request body: google_workspace: give customer_id or domain, not both.');
        if (service_account_key) {
          settings.google_workspace.client_email = service_account_key.client_email;
          update.pull_secret_sealed = this.c.secretBox.seal(service_account_key.private_key);
          rotated.push('service_account_key');
        }
      }
      update.pull_settings = JSON.stringify(settings);
      await trx('directories').where({ id }).update(update);
      await this.c.audit.record(trx, { action: 'directory.updated', actor, detail: { directory_id: id, changed: Object.keys(patch), rotated } });
    });
  }

  /**
   * Starts a run now in this process (the lease keeps other instances off it) and answers once it
   * has started; `wait` waits for the end (CLI).
   */
  async syncNow(id: string, wait: boolean): Promise<{ run_id: string; outcome?: PullOutcome }> {
    const row = await this.c.db('directories').where({ id }).first<{ kind: string } | undefined>('kind');
    if (!row) throw notFound('Directory');
    if (row.kind === 'scim') throw conflict('not_a_pull_directory', 'A SCIM directory is pushed by the IdP; only Google Workspace and Microsoft Graph directories sync on demand.');
    const started = await this.runner.start(id, 'manual');
    if (!started.runId) throw conflict('sync_in_progress', 'This directory is syncing now; try again when the run ends.');
    if (wait) return { run_id: started.runId, outcome: await started.outcome };
    started.outcome.catch((err: unknown) => this.c.logger.error({ err, directory_id: id }, 'pull run failed'));
    return { run_id: started.runId };
  }

  async runs(id: string, take: number, before?: string): Promise<PullRunView[]> {
    if (!(await this.c.db('directories').where({ id }).first('id'))) throw notFound('Directory');
    return (await q.listRuns(this.c.db, id, take, before)).map(runView);
  }
}

/**
 * The secret goes to the token URL (and the token to the API): whoever redirects them must prove
 * they hold the secret already, or a key that may only update directories could harvest it.
 */
const endpointChanged = (patch: { api_base_url?: string | null; token_url?: string | null }, current: { api_base_url: string | null; token_url: string | null }): boolean =>
  (patch.api_base_url !== undefined && patch.api_base_url !== current.api_base_url) || (patch.token_url !== undefined && patch.token_url !== current.token_url);

const secretRequired = (kind: string, field: string) =>
  invalidBody(`Invalid request body: ${kind}.${field}: required when api_base_url or token_url changes.`);

const definedOnly = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

const directoryExists = () => conflict('directory_exists', 'This connection already has a directory.');
