import { describeStage } from '@broker/contracts';
import type { Correlation, TimelineRow } from '@broker/store';
import { html } from './html.template';
import { layout, searchForm } from './layout.view';

export interface TimelineRowView extends TimelineRow {
  /** Current BullMQ state of the row's job, when it has one and it is still in Redis. */
  jobState?: string;
}

export interface TimelineView {
  query: string;
  correlations: Correlation[];
  rows: TimelineRowView[];
  csrfToken: string;
  notice?: string;
  error?: string;
}

const time = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', ' UTC');

function replayButton(row: TimelineRowView, view: TimelineView) {
  if (row.jobState !== 'failed' || !row.queue || !row.jobId) return '';
  return html`<form class="inline" method="post" action="/actions/replay">
<input type="hidden" name="_csrf" value="${view.csrfToken}">
<input type="hidden" name="queue" value="${row.queue}">
<input type="hidden" name="jobId" value="${row.jobId}">
<input type="hidden" name="returnTo" value="${view.query}">
<button type="submit" data-action="replay">Replay</button>
</form>`;
}

function resyncButton(c: Correlation, view: TimelineView) {
  return html`<form class="inline" method="post" action="/actions/resync">
<input type="hidden" name="_csrf" value="${view.csrfToken}">
<input type="hidden" name="connectionId" value="${c.connectionId}">
<input type="hidden" name="sfId" value="${c.sfId}">
<input type="hidden" name="returnTo" value="${view.query}">
<button type="submit" data-action="resync">Re-sync</button>
</form>`;
}

export function renderTimelinePage(view: TimelineView): string {
  const totalCalls = view.rows.reduce((n, r) => n + r.sfApiCalls, 0);
  return layout(
    `Timeline ${view.query}`,
    html`<h1>Timeline of <code>${view.query}</code></h1>
${searchForm(view.query)}
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
<h2>Correlations</h2>
${
  view.correlations.length === 0
    ? html`<p>No correlation: this record has not reached Field Nation (yet).</p>`
    : html`<table id="correlations">
<thead><tr><th>Connection</th><th>Object</th><th>Salesforce id</th><th>Work order</th><th>State</th><th>Last error</th><th>Updated</th><th></th></tr></thead>
<tbody>
${view.correlations.map(
  (c) => html`<tr>
<td>${c.connectionId}</td><td>${c.sfObject}</td><td><code>${c.sfId}</code></td><td>${c.workOrderId ?? '—'}</td>
<td>${c.state}</td><td>${c.lastError ?? ''}</td><td>${time(c.updatedAt)}</td><td>${resyncButton(c, view)}</td>
</tr>`,
)}
</tbody></table>`
}
<h2>Stages</h2>
${
  view.rows.length === 0
    ? html`<p>No timeline entries for this id.</p>`
    : html`<p>${view.rows.length} stage(s), ${totalCalls} Salesforce API call(s).</p>
<table id="stages">
<thead><tr><th>Time</th><th>Connection</th><th>Stage</th><th>Outcome</th><th>Message</th><th>API calls</th><th>Queue / job</th><th>Job state</th><th></th></tr></thead>
<tbody>
${view.rows.map(
  (r) => html`<tr data-stage="${r.stage}" data-outcome="${r.outcome}">
<td>${time(r.at)}</td><td>${r.connectionId}</td><td title="${describeStage(r.stage)}">${r.stage}</td>
<td class="outcome-${r.outcome}">${r.outcome}</td><td>${r.message ?? ''}</td><td>${r.sfApiCalls}</td>
<td>${r.queue ? html`${r.queue} / <code>${r.jobId ?? ''}</code>` : ''}</td>
<td class="job-state">${r.jobState ?? ''}</td><td>${replayButton(r, view)}</td>
</tr>`,
)}
</tbody></table>`
}`,
  );
}
