import { html, type SafeHtml } from './html.template';
import { layout, searchForm } from './layout.view';
import { QUEUE_STATES } from './queue-metrics';

export interface QueueCounts {
  queue: string;
  counts: Record<string, number>;
}

export function renderHomePage(queues: QueueCounts[], connections?: SafeHtml): string {
  return layout(
    'Overview',
    html`<h1>Broker dashboard</h1>
${searchForm()}
<h2>Queues</h2>
<table>
<thead><tr><th>Queue</th>${QUEUE_STATES.map((s) => html`<th>${s}</th>`)}</tr></thead>
<tbody>
${queues.map(
  (q) =>
    html`<tr><td><a href="/queues/queue/${encodeURIComponent(q.queue)}">${q.queue}</a></td>${QUEUE_STATES.map(
      (s) =>
        html`<td>${s === 'failed' && (q.counts[s] ?? 0) > 0 ? html`<a class="outcome-failed" href="/queues/queue/${encodeURIComponent(q.queue)}?status=failed">${q.counts[s] ?? 0}</a>` : (q.counts[s] ?? 0)}</td>`,
    )}</tr>`,
)}
</tbody>
</table>
<p>Failed jobs are the dead-letter queue: open a queue in Bull Board to inspect and retry them in bulk, or search a record above to replay its own failures.</p>
${connections}`,
  );
}
