/**
 * FOR DEMONSTRATION ONLY: the demo IdP's own directory (who exists, who is active, who is in
 * which group) and the SCIM client it uses to push every change to orgsync, the way Okta or
 * Entra ID provisioning does: POST users and groups, PATCH `active`, PATCH group members.
 */
export interface DemoPerson {
  key: string;
  email: string;
  givenName: string;
  familyName: string;
  groups: string[];
  active: boolean;
  /** orgsync's SCIM id for this user, once provisioned. */
  scimId?: string;
}

export interface ScimCall {
  at: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
}

export class DemoDirectory {
  readonly people: DemoPerson[];
  readonly groupIds = new Map<string, string>();
  /** What was sent to orgsync, newest first, shown on the demo IdP page. */
  readonly calls: ScimCall[] = [];

  constructor(people: Omit<DemoPerson, 'active'>[], readonly groups: string[], private scim?: { baseUrl: string; token: string }) {
    this.people = people.map((p) => ({ ...p, groups: [...p.groups], active: true }));
  }

  connect(baseUrl: string, token: string): void {
    this.scim = { baseUrl, token };
  }

  person(key: string): DemoPerson | undefined {
    return this.people.find((p) => p.key === key);
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    if (!this.scim) throw new Error('the demo directory is not connected to orgsync yet');
    const res = await fetch(`${this.scim.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.scim.token}`, 'content-type': 'application/scim+json', accept: 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    this.calls.unshift({ at: new Date().toISOString(), method, path, body, status: res.status });
    this.calls.length = Math.min(this.calls.length, 20);
    if (res.status >= 400) throw new Error(`SCIM ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** Initial provisioning: every person, then every group with its members. */
  async provisionAll(): Promise<void> {
    for (const p of this.people) {
      const created = await this.send('POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: p.email,
        externalId: p.key,
        name: { givenName: p.givenName, familyName: p.familyName },
        displayName: `${p.givenName} ${p.familyName}`,
        emails: [{ value: p.email, type: 'work', primary: true }],
        active: true,
      });
      p.scimId = String(created.body.id);
    }
    for (const g of this.groups) {
      const members = this.people.filter((p) => p.groups.includes(g)).map((p) => ({ value: p.scimId! }));
      const created = await this.send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: g, externalId: `group-${g}`, members });
      this.groupIds.set(g, String(created.body.id));
    }
  }

  /** Okta's deactivate/reactivate: PATCH with a `replace` of `active` and no path. */
  async setActive(key: string, active: boolean): Promise<void> {
    const p = this.mustFind(key);
    await this.send('PATCH', `/Users/${p.scimId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active } }] });
    p.active = active;
  }

  /** Unassigning from a group: remove one member by value filter, as Okta does. */
  async removeFromGroup(key: string, group: string): Promise<void> {
    const p = this.mustFind(key);
    const gid = this.mustGroup(group);
    await this.send('PATCH', `/Groups/${gid}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: `members[value eq "${p.scimId}"]` }] });
    p.groups = p.groups.filter((g) => g !== group);
  }

  async addToGroup(key: string, group: string): Promise<void> {
    const p = this.mustFind(key);
    const gid = this.mustGroup(group);
    await this.send('PATCH', `/Groups/${gid}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: p.scimId }] }] });
    if (!p.groups.includes(group)) p.groups.push(group);
  }

  private mustFind(key: string): DemoPerson {
    const p = this.person(key);
    if (!p?.scimId) throw new Error(`unknown demo user ${key}`);
    return p;
  }

  private mustGroup(group: string): string {
    const gid = this.groupIds.get(group);
    if (!gid) throw new Error(`unknown demo group ${group}`);
    return gid;
  }
}
