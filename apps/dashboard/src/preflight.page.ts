import type { CheckResult, PreflightReport } from '@broker/preflight';
import { html, type SafeHtml } from './html.template';
import { layout } from './layout.view';

const MARK: Record<CheckResult['status'], string> = { ok: '✓', warn: '!', fail: '✗' };
const CLASS: Record<CheckResult['status'], string> = { ok: 'outcome-ok', warn: 'outcome-retry', fail: 'outcome-failed' };

/** One "Test connection" form per configured connection (POST, CSRF token). */
export function connectionsSection(connectionIds: readonly string[], csrfToken: string): SafeHtml {
  return html`<h2>Connections</h2>
<table>
<thead><tr><th>Connection</th><th>Preflight (read-only: logins, fields, ids, webhook, API allowance)</th></tr></thead>
<tbody>
${connectionIds.map(
  (id) =>
    html`<tr><td>${id}</td><td><form class="inline" method="post" action="/actions/test-connection"><input type="hidden" name="_csrf" value="${csrfToken}"><input type="hidden" name="connectionId" value="${id}"><button type="submit">Test connection</button></form></td></tr>`,
)}
</tbody>
</table>`;
}

/** In place of the connections: the configuration in force does not load (the other apps refuse it too). */
export function configErrorSection(message: string): SafeHtml {
  return html`<h2>Connections</h2>
<p class="outcome-failed" id="config-error">The configuration does not load, so its connections cannot be tested: ${message}</p>`;
}

/** The same checklist `broker doctor` prints, as HTML: every value escaped (details quote remote errors). */
export function renderPreflightPage(report: PreflightReport): string {
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  const summary = failed
    ? html`<p class="error" role="alert">${failed} check${failed === 1 ? '' : 's'} failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}.</p>`
    : html`<p class="notice" role="status">Ready${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.</p>`;
  return layout(
    `Test connection ${report.connectionId}`,
    html`<h1>Test connection: ${report.connectionId}</h1>
${summary}
<table id="preflight">
<thead><tr><th></th><th>Check</th><th>Detail</th><th>Fix</th></tr></thead>
<tbody>
${report.checks.map(
  (c) =>
    html`<tr data-check="${c.id}" data-status="${c.status}"><td class="${CLASS[c.status]}">${MARK[c.status]}</td><td>${c.title}<br><code>${c.id}</code></td><td style="white-space:pre-wrap">${c.detail}</td><td>${c.status === 'ok' ? '' : c.fix}</td></tr>`,
)}
</tbody>
</table>
<p>Spent ${report.salesforceApiCalls} Salesforce API call${report.salesforceApiCalls === 1 ? '' : 's'} (logins are not counted) and ${report.fieldnationRequests} Field Nation request${report.fieldnationRequests === 1 ? '' : 's'} in ${(report.durationMs / 1000).toFixed(1)} s. Nothing was written. The CLI runs the same checks: <code>broker doctor --connection ${report.connectionId}</code>.</p>
<p><a href="/">Back</a></p>`,
  );
}
