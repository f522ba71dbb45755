import type { GroupWarnings } from '../../reports/group-warnings.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from '../layout.js';

/**
 * The connection's recent logins whose groups matched no membership rule, or matched by a CN that
 * stands for groups in several OUs: what the IdP sent (a few samples) and what to change.
 */
export function groupWarningsSection(w: GroupWarnings | null, connectionName: string): SafeHtml | string {
  if (!w) return '';
  const u = w.unmatched;
  return html`${u
    ? html`<div class="group-warning" role="status" data-warning="groups_matched_no_rule">
        <h3>Groups that matched no rule</h3>
        <p>${u.logins} of the last ${w.logins_checked} sign-ins through ${connectionName} carried groups that matched no membership rule (the latest ${formatTime(u.last_at)}):</p>
        <ul>${u.attributes.map((a) => html`<li><code>${a.name}</code>${a.mapped ? '' : html` <span class="muted">(not in attribute_mapping.groups)</span>`}: ${a.sample.map((v, i) => html`${i ? ', ' : ''}<code>${v}</code>`)}</li>`)}</ul>
        <p class="hint">${u.hint}</p>
      </div>`
    : ''}${w.ambiguous_cn.map(
    (a) => html`<div class="group-warning" role="status" data-warning="group_cn_ambiguous">
        <h3>A CN that names several groups</h3>
        <p class="hint">${a.hint}</p>
      </div>`,
  )}`;
}
