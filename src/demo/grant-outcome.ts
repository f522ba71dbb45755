import type { ApiClient } from './seed.js';

/**
 * FOR DEMONSTRATION ONLY: what orgsync did at once about a SCIM grant the demo IdP just sent, read
 * back through the public API (the user's sync runs since `since`): the organizations whose access
 * it restored or added. Empty when the grant waits for the person's next sign-in.
 */
export async function grantedAtOnce(api: ApiClient, email: string, since: string): Promise<string[]> {
  const users = (await api.call('GET', `/users?email=${encodeURIComponent(email)}`)).users as Array<{ id: string }> | undefined;
  const userId = users?.[0]?.id;
  if (!userId) return [];
  const runs = (await api.call('GET', `/sync-runs?user=${encodeURIComponent(userId)}&take=20`)).sync_runs as Array<{
    at: string;
    trigger: string;
    added: Array<{ organization_id: string }>;
    restored: Array<{ organization_id: string }>;
  }>;
  const ids = new Set(runs.filter((r) => r.trigger === 'scim' && r.at >= since).flatMap((r) => [...r.restored, ...r.added].map((x) => x.organization_id)));
  const names: string[] = [];
  for (const id of ids) names.push(String((await api.call('GET', `/organizations/${encodeURIComponent(id)}`)).display_name));
  return names.sort();
}
