import { Router } from 'express';
import type { Container } from '../../../container.js';
import type { Webhook } from '../../webhooks/queries.js';
import type { Delivery } from '../../webhooks/delivery-queries.js';
import { html, type SafeHtml } from '../html.js';
import { csrfField, formatTime, layout, type ViewContext } from '../layout.js';
import { redirectWith, viewContext } from '../context.js';
import { actorOf, can, principalOf, requireCan } from '../principal.js';

/** How many failing deliveries each endpoint's card lists (the API pages through all of them). */
const SHOWN = 20;

function deliveryRow(ctx: ViewContext, hook: Webhook, d: Delivery): SafeHtml {
  return html`<tr>
    <th scope="row">${d.event_type}</th>
    <td data-label="Status">${d.status}</td>
    <td data-label="Attempts">${d.attempt_count}</td>
    <td data-label="Last attempt">${formatTime(d.last_attempt_at)}</td>
    <td data-label="Last answer">${d.last_status_code === null ? '—' : String(d.last_status_code)} ${d.last_error ? html`<span class="help">${d.last_error}</span>` : ''}</td>
    <td data-label="Next retry">${d.status === 'failed' ? formatTime(null) : formatTime(d.next_attempt_at)}</td>
    <td class="actions-cell">${can(ctx.principal!, 'update:webhooks') && hook.enabled
      ? html`<form method="post" action="/admin/webhooks/${hook.id}/deliveries/${d.id}/redeliver">${csrfField(ctx)}<button type="submit" class="secondary">Redeliver</button></form>`
      : ''}</td>
  </tr>`;
}

function webhookCard(ctx: ViewContext, hook: Webhook, failing: Delivery[]): SafeHtml {
  const state = !hook.enabled
    ? html`<span class="badge badge-flag">Disabled</span> ${hook.disabled_reason ?? ''} since ${formatTime(hook.disabled_at)}`
    : hook.failing_since
      ? html`<span class="badge badge-flag">Failing</span> since ${formatTime(hook.failing_since)}`
      : html`Delivering`;
  return html`<section class="card" aria-labelledby="wh-${hook.id}">
    <h2 id="wh-${hook.id}" class="wh-url"><code>${hook.url}</code></h2>
    <p>${state}. Events: ${hook.events.join(', ')}.</p>
    ${failing.length === 0
      ? html`<p class="help">No deliveries waiting for a retry or given up.</p>`
      : html`<div class="table-wrap"><table class="stack-sm">
          <caption>Deliveries that failed (newest first)</caption>
          <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Last answer</th><th scope="col">Next retry</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${failing.map((d) => deliveryRow(ctx, hook, d))}</tbody>
        </table></div>`}
  </section>`;
}

/** Webhook endpoints and their failing deliveries (SPEC §10: failures visible in the admin page). */
export function webhookPages(c: Container): Router {
  const r = Router();
  r.get('/webhooks', async (req, res) => {
    requireCan(principalOf(res), 'read:webhooks');
    const ctx = viewContext(req, res, 'webhooks');
    const hooks = (await c.webhooks.list(100)).items;
    const cards: SafeHtml[] = [];
    for (const hook of hooks) {
      const [failed, pending] = await Promise.all([
        c.webhooks.deliveries(hook.id, { status: 'failed', take: SHOWN }),
        c.webhooks.deliveries(hook.id, { status: 'pending', take: SHOWN }),
      ]);
      const failing = [...failed.items, ...pending.items.filter((d) => d.attempt_count > 0)].slice(0, SHOWN);
      cards.push(webhookCard(ctx, hook, failing));
    }
    res.send(
      layout(ctx, 'Webhooks', html`<h1>Webhooks</h1>
        <p class="help">Endpoints are managed through the API (<code>/api/v1/webhooks</code>); failed deliveries are retried with backoff for 24 hours, then the endpoint is disabled.</p>
        ${cards.length ? cards : html`<p>No webhook endpoints.</p>`}`).value,
    );
  });

  r.post('/webhooks/:id/deliveries/:delivery/redeliver', async (req, res) => {
    const p = principalOf(res);
    requireCan(p, 'update:webhooks');
    await c.webhooks.redeliver(String(req.params.id), String(req.params.delivery), actorOf(p));
    await redirectWith(req, res, '/admin/webhooks', { kind: 'ok', text: 'Delivery queued again.' });
  });
  return r;
}
