import type { Executor } from '../../platform/db.js';
import { dialectOf, selectRows, toBool } from '../../platform/db.js';
import { governedOrganizationIds } from '../connections/queries.js';
import { removalRecordsOfUser } from '../memberships/queries.js';
import type { ActualMembership } from './plan.js';

/** The directory (SCIM endpoint) of a connection, if it has one. */
export async function directoryOfConnection(db: Executor, connectionId: string): Promise<string | null> {
  const [row] = await selectRows<{ id: string }>(db, 'SELECT "id" FROM "directories" WHERE "connection_id" = ? LIMIT 1', [connectionId]);
  return row?.id ?? null;
}

/** Display names and external ids of the SCIM groups the user is in, in one directory. */
export async function scimGroupsOfUser(db: Executor, directoryId: string, userId: string): Promise<string[]> {
  const rows = await selectRows<{ display_name: string; external_id: string | null }>(
    db,
    'SELECT "g"."display_name", "g"."external_id" FROM "scim_group_members" "gm" JOIN "scim_users" "u" ON "u"."id" = "gm"."scim_user_id" JOIN "scim_groups" "g" ON "g"."id" = "gm"."group_id" WHERE "u"."directory_id" = ? AND "u"."user_id" = ? AND "g"."directory_id" = ?',
    [directoryId, userId, directoryId],
  );
  return rows.flatMap((r) => (r.external_id ? [r.display_name, r.external_id] : [r.display_name]));
}

/** Whether the directory deactivated or deleted the user: such a user may not sign in. */
export async function directoryDenies(db: Executor, directoryId: string, userId: string): Promise<'deactivated' | 'deleted' | null> {
  const rows = await db('scim_users').where({ directory_id: directoryId, user_id: userId }).select<{ active: unknown }[]>('active');
  // An active resource wins over an old tombstone: the IdP re-created the user.
  if (rows.some((r) => toBool(r.active))) return null;
  if (rows.length > 0) return 'deactivated';
  const tomb = await db('scim_user_tombstones').where({ directory_id: directoryId, user_id: userId }).first('user_id');
  if (tomb) return 'deleted';
  return null;
}

/** What a user's sync plan reads: the connection's organizations and the user's standing in them. */
export interface PlanInputs {
  /** The connection's directory, if it has one. */
  directoryId: string | null;
  /** Organizations the connection governs. */
  governed: string[];
  /** All of the user's memberships, governed or not (the limit counts every one). */
  memberships: ActualMembership[];
  /** Organizations an admin removed the user from. */
  removed: Set<string>;
  /** Names and external ids of the user's SCIM groups in the directory. */
  scimGroups: string[];
}

/**
 * PostgreSQL select-list entries reading a user's plan inputs, each one JSON value, for the user,
 * directory and governing connection in the CTEs "pi_user", "pi_dir" and "pi_gov" (one `id` column
 * each; no row, or a null, reads nothing): see `planInputCtes`. Read them with `planInputsFromRow`.
 */
export const PLAN_INPUT_COLUMNS = `
  (SELECT coalesce(json_agg(json_build_array(m."organization_id", m."role", m."status")), '[]'::json) FROM "memberships" m WHERE m."user_id" = (SELECT "id" FROM "pi_user")) AS "pi_memberships",
  (SELECT coalesce(json_agg(r."organization_id"), '[]'::json) FROM "removal_records" r WHERE r."user_id" = (SELECT "id" FROM "pi_user")) AS "pi_removed",
  (SELECT coalesce(json_agg(o."id"), '[]'::json) FROM "organizations" o WHERE o."connection_id" = (SELECT "id" FROM "pi_gov")) AS "pi_governed",
  (SELECT coalesce(json_agg(json_build_array(g."display_name", g."external_id")), '[]'::json)
     FROM "scim_group_members" gm JOIN "scim_users" u ON u."id" = gm."scim_user_id" JOIN "scim_groups" g ON g."id" = gm."group_id"
    WHERE u."directory_id" = (SELECT "id" FROM "pi_dir") AND u."user_id" = (SELECT "id" FROM "pi_user") AND g."directory_id" = (SELECT "id" FROM "pi_dir")) AS "pi_scim_groups",
  (SELECT "id" FROM "pi_dir") AS "pi_directory_id"`;

export interface PlanInputColumns {
  pi_memberships: Array<[string, ActualMembership['role'], ActualMembership['status']]>;
  pi_removed: string[];
  pi_governed: string[];
  pi_scim_groups: Array<[string, string | null]>;
  pi_directory_id: string | null;
}

export const planInputsFromRow = (r: PlanInputColumns): PlanInputs => ({
  directoryId: r.pi_directory_id,
  governed: r.pi_governed,
  memberships: r.pi_memberships.map(([organization_id, role, status]) => ({ organization_id, role, status })),
  removed: new Set(r.pi_removed),
  // As scimGroupsOfUser: the name, and the external id when there is one.
  scimGroups: r.pi_scim_groups.flatMap(([name, externalId]) => (externalId ? [name, externalId] : [name])),
});

/**
 * The CTEs `PLAN_INPUT_COLUMNS` reads: "pi_conn" (the connection, a `?::text` parameter), its
 * directory, "pi_user" (the user: `userSql`, which may read CTEs defined before these) and
 * "pi_gov" (the connection again, or none when `governedSql` is false: the caller knows the
 * governed organizations).
 */
export const planInputCtes = (userSql: string, governedSql = 'true'): string =>
  `"pi_conn"("id") AS (SELECT ?::text), "pi_dir"("id") AS (SELECT "id" FROM "directories" WHERE "connection_id" = (SELECT "id" FROM "pi_conn") LIMIT 1), "pi_user"("id") AS (${userSql}), "pi_gov"("id") AS (SELECT "id" FROM "pi_conn" WHERE ${governedSql})`;

/**
 * A user's plan inputs: one statement on PostgreSQL, the separate reads on SQLite. With `governed`
 * (a rules preview names the organizations) the connection's organizations are not read.
 */
export async function planInputsOf(db: Executor, connectionId: string, userId: string, governed?: string[]): Promise<PlanInputs> {
  if (dialectOf(db) === 'pg') {
    const [row] = await selectRows<PlanInputColumns>(db, `WITH ${planInputCtes('SELECT ?::text', '?::boolean')} SELECT ${PLAN_INPUT_COLUMNS}`, [connectionId, userId, !governed]);
    const inputs = planInputsFromRow(row!);
    return governed ? { ...inputs, governed } : inputs;
  }
  // SQLite: each read a cached prepared statement (a knex builder cost more than the read, 0.1–0.2 ms).
  const directoryId = await directoryOfConnection(db, connectionId);
  const scimGroups = directoryId ? await scimGroupsOfUser(db, directoryId, userId) : [];
  const governedIds = governed ?? (await governedOrganizationIds(db, connectionId));
  const memberships = await selectRows<ActualMembership>(db, 'SELECT "organization_id", "role", "status" FROM "memberships" WHERE "user_id" = ?', [userId]);
  const removed = await removalRecordsOfUser(db, userId);
  return { directoryId, governed: governedIds, memberships, removed, scimGroups };
}
