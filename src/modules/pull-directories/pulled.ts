/**
 * A user or group as a pull source reports it, before it is stored as a directory resource.
 * Microsoft Graph delta rounds after the first carry only the changed properties: absent fields
 * (`undefined`) keep their stored value; `null` clears it.
 */
export interface PulledUser {
  remoteId: string;
  userName?: string;
  email?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  /** false for Google suspended/archived and Graph `accountEnabled: false`. */
  active?: boolean;
}

export interface PulledGroup {
  remoteId: string;
  displayName: string;
}

/** Who did what, for audit details and flag evidence: `Microsoft Graph accountEnabled=false`. */
export interface PullChangeSource {
  directoryId: string;
  connectionId: string;
  /** `Microsoft Graph` or `Google Workspace`. */
  label: string;
  at: string;
  /** The pull run this page belongs to: recorded on the sync runs and flag evidence it writes. */
  runId: string;
}
