/** A parsed attribute path: `[uri:]attr[.sub]`. Names keep the client's spelling; resolution is case-insensitive. */
export interface AttrRef {
  uri: string | null;
  attr: string;
  sub: string | null;
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

export type Filter =
  | { kind: 'compare'; path: AttrRef; op: CompareOp; value: FilterValue }
  | { kind: 'present'; path: AttrRef }
  | { kind: 'and' | 'or'; left: Filter; right: Filter }
  | { kind: 'not'; filter: Filter }
  /** `attr[filter]`: one element of a multi-valued attribute satisfies `filter` (paths relative to the element). */
  | { kind: 'valuePath'; path: AttrRef; filter: Filter };

export const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
