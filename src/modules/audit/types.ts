export type ActorType = 'api_key' | 'scim' | 'login' | 'cli' | 'admin_page' | 'system' | 'setup_link';

/** Who made a change; recorded with every audit event. */
export interface Actor {
  type: ActorType;
  id: string | null;
}

export const systemActor: Actor = { type: 'system', id: null };

export interface AuditInput {
  action: string;
  actor: Actor;
  organizationId?: string | null;
  targetUserId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: Actor;
  action: string;
  organization_id: string | null;
  target_user_id: string | null;
  detail: Record<string, unknown>;
}
