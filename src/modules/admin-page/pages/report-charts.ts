import { humanDay } from '../../../platform/human-time.js';
import { flagReasonLabel, plural } from '../../memberships/labels.js';
import type { DailyActivity } from '../../reports/daily-activity.js';
import { html, type SafeHtml } from '../html.js';

/**
 * The sync report's pictures, drawn on the server as inline SVG: no script, no client library, and
 * nothing the Content-Security-Policy has to allow. Horizontal positions are percentages, so the
 * chart fills any width from a phone to a laptop while its text keeps its real size; every bar has
 * a `<title>` (hover) and the numbers are also in a table for screen readers and copying.
 */
const SERIES = [
  { key: 'flagged', label: 'Flagged' },
  { key: 'removed', label: 'Removed' },
  { key: 'restored', label: 'Restored' },
] as const;

const HEIGHT = 200;
const TOP = 12;
const BOTTOM = 172;
const LEFT = 7; // % of the width kept for the y-axis labels
const pct = (n: number) => `${Math.round(n * 1000) / 1000}%`;

/** 1, 2, 5, 10, 20, 50…: a round top for the y axis. */
function niceMax(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= n)!;
}

export function activityChart(a: DailyActivity): SafeHtml {
  const totals = Object.fromEntries(SERIES.map((s) => [s.key, a[s.key].reduce((x, y) => x + y, 0)])) as Record<(typeof SERIES)[number]['key'], number>;
  const first = humanDay(a.days[0] ?? '');
  const last = humanDay(a.days.at(-1) ?? '');
  if (totals.flagged + totals.removed + totals.restored === 0) {
    return html`<p class="empty" id="activity-empty">No memberships were flagged, removed or restored from ${first} to ${last}.</p>`;
  }
  const max = niceMax(Math.max(...SERIES.flatMap((s) => a[s.key])));
  const slot = (100 - LEFT) / a.days.length;
  const y = (v: number) => BOTTOM - ((BOTTOM - TOP) * v) / max;
  const bars = a.days.flatMap((day, i) =>
    SERIES.map((s, j) => {
      const v = a[s.key][i]!;
      if (v === 0) return html``;
      const x = LEFT + slot * i + slot * (0.1 + j * 0.27);
      return html`<rect class="bar bar-${s.key}" x="${pct(x)}" y="${y(v)}" width="${pct(slot * 0.25)}" height="${BOTTOM - y(v)}"><title>${humanDay(day)}: ${v} ${s.label.toLowerCase()}</title></rect>`;
    }),
  );
  const grid = [0, max / 2, max].filter((v, i, all) => Number.isInteger(v) && all.indexOf(v) === i);
  const ticks = a.days.map((day, i) => (i % 7 === (a.days.length - 1) % 7 ? html`<text class="axis" x="${pct(LEFT + slot * (i + 0.5))}" y="${BOTTOM + 18}" text-anchor="middle">${humanDay(day)}</text>` : html``));
  const summary = `${first} to ${last}: ${plural(totals.flagged, 'membership')} flagged, ${totals.removed} removed, ${totals.restored} restored.`;
  return html`<figure class="chart" aria-labelledby="activity-caption">
    <ul class="legend">${SERIES.map((s) => html`<li><span class="swatch swatch-${s.key}" aria-hidden="true"></span>${s.label} <strong id="activity-total-${s.key}">${totals[s.key]}</strong></li>`)}</ul>
    <svg class="activity" width="100%" height="${HEIGHT}" role="img" aria-labelledby="activity-title">
      <title id="activity-title">${summary}</title>
      ${grid.map((v) => html`<line class="grid" x1="${pct(LEFT)}" x2="100%" y1="${y(v)}" y2="${y(v)}"></line><text class="axis" x="0" y="${y(v) + 4}">${v}</text>`)}
      ${bars}
      ${ticks}
    </svg>
    <figcaption id="activity-caption">Memberships flagged, removed and restored per day (UTC), the last ${a.days.length} days.</figcaption>
    <details class="chart-numbers"><summary>Numbers per day</summary>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Day</th>${SERIES.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}</tr></thead>
        <tbody>${a.days.map((day, i) =>
          SERIES.some((s) => a[s.key][i]) ? html`<tr><th scope="row"><time datetime="${day}">${humanDay(day)}</time></th>${SERIES.map((s) => html`<td class="num">${a[s.key][i]}</td>`)}</tr>` : '',
        )}</tbody>
      </table></div>
    </details>
  </figure>`;
}

/** One bar per reason, as long as its share of the flagged members. */
export function reasonBars(byReason: Array<[string, number]>, total: number): SafeHtml {
  return html`<ul class="reason-bars">${byReason.map(
    ([reason, n]) => html`<li>
      <span class="reason-label">${flagReasonLabel(reason)}</span>
      <svg class="reason-bar" width="100%" height="14" role="img" aria-label="${n} of ${total} flagged"><rect class="bar bar-flagged" x="0" y="0" height="14" width="${pct(total ? (100 * n) / total : 0)}"></rect></svg>
      <span class="num" data-reason="${reason}">${n}</span>
    </li>`,
  )}</ul>`;
}
