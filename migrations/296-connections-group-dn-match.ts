import type { Knex } from 'knex';

/**
 * Per connection: how a group value that is an LDAP DN matches membership rules. `dn` (every
 * connection, existing ones included) matches the whole DN; `cn` also matches its first CN, an
 * opt-in because a CN can repeat in other OUs.
 *
 * Connections still on the old default SAML groups attribute names get the new default list (the
 * old one plus `isMemberOf`, `http://schemas.xmlsoap.org/claims/Group` and the memberOf OID): a
 * stored mapping is the defaults of the day it was made, and those connections never chose it.
 * A mapping anyone changed is left as it is; down puts the old list back only where up put the new one.
 */
const OLD_SAML_GROUPS = ['groups', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', 'memberOf', 'Groups', 'urn:oid:1.3.6.1.4.1.5923.1.5.1.1'];
const NEW_SAML_GROUPS = [...OLD_SAML_GROUPS, 'isMemberOf', 'http://schemas.xmlsoap.org/claims/Group', 'urn:oid:1.2.840.113556.1.2.102'];

async function replaceGroups(knex: Knex, from: string[], to: string[]): Promise<void> {
  const rows = await knex('connections').where({ type: 'saml' }).select<{ id: string; attribute_mapping: string }[]>('id', 'attribute_mapping');
  for (const row of rows) {
    let mapping: Record<string, unknown>;
    try {
      mapping = JSON.parse(row.attribute_mapping) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (JSON.stringify(mapping.groups) !== JSON.stringify(from)) continue;
    await knex('connections').where({ id: row.id }).update({ attribute_mapping: JSON.stringify({ ...mapping, groups: to }) });
  }
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.string('group_dn_match', 10).notNullable().defaultTo('dn');
  });
  await replaceGroups(knex, OLD_SAML_GROUPS, NEW_SAML_GROUPS);
}

export async function down(knex: Knex): Promise<void> {
  await replaceGroups(knex, NEW_SAML_GROUPS, OLD_SAML_GROUPS);
  // A plain DROP COLUMN: knex's dropColumn rebuilds the table on SQLite, and dropping the old table
  // cascades to the rows that refer to it.
  await knex.raw('ALTER TABLE "connections" DROP COLUMN "group_dn_match"');
}
