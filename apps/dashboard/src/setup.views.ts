// The setup pages as HTML (server-rendered; every value escaped by `html`).
import type { ConfigVersionSummary } from '@broker/config-store';
import type { Describe } from './setup.service';
import { html, raw, type SafeHtml } from './html.template';
import { layout } from './layout.view';
import { LOOKUP_CATALOGUES, LOOKUP_FILL, LOOKUP_LABELS, type LookupResult } from './fieldnation-lookups';
import { ACTION_HELP, ACTIONS, type MappingRow, type RowIssue } from './mapping-rows';

export const SETUP_STYLE = raw(`<style>
.invalid{outline:2px solid #b3261e;background:#fdecea}
.row-issue{color:#b3261e;font-size:12px}
.readonly{background:#fff8e1;border:1px solid #f0d58a;padding:8px 12px}
textarea{font:12px/1.4 ui-monospace,monospace;width:100%}
td input[type=text],td select{width:100%;box-sizing:border-box}
.muted{color:#57606a;font-size:12px}
pre{background:#fff;border:1px solid #dde1e6;padding:8px;overflow:auto;max-height:420px}
.changed{background:#fff4d6}
nav.crumbs{margin-bottom:8px}
tr.row.selected td:first-child{background:#dbeafe;font-weight:bold}
#lookups{border:1px solid #dde1e6;padding:4px 12px;background:#fafbfc}
</style>`);

const csrfInput = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;
const crumbs = (parts: [string, string | undefined][]) =>
  html`<nav class="crumbs">${parts.map(([label, href], i) => html`${i ? ' › ' : ''}${href ? html`<a href="${href}">${label}</a>` : label}`)}</nav>`;

export function setupLayout(title: string, body: SafeHtml, options: { script?: boolean } = {}): string {
  return layout(
    title,
    html`${SETUP_STYLE}${options.script ? raw('<script src="/setup/assets/setup.js" defer></script>') : ''}<p><a href="/setup">Setup</a></p>${body}`,
  );
}

export interface ModeView {
  mode: 'file' | 'database';
  version: number | null;
}

export function modeBanner(m: ModeView): SafeHtml {
  return m.mode === 'database'
    ? html`<p class="notice" id="config-mode">Configuration version <strong>${m.version}</strong> (stored in PostgreSQL): saving here stores a new version, which the workers apply between jobs without a restart. <a href="/setup/versions">History and rollback</a> · <a href="/setup/export">Export YAML</a></p>`
    : html`<p class="readonly" id="config-mode">The configuration is a file (BROKER_CONFIG): these pages are read-only. Change the files and restart the apps, or move the configuration into the database (<code>broker config import</code>, docs/operations.md). <a href="/setup/export">Export YAML</a></p>`;
}

export interface ConnectionSummary {
  id: string;
  salesforce: string;
  fieldnation: string;
  objects: string[];
}

export function renderConnectionsPage(m: ModeView, connections: ConnectionSummary[]): string {
  return setupLayout(
    'Setup',
    html`<h1>Setup: connections</h1>${modeBanner(m)}
<table id="connections"><thead><tr><th>Connection</th><th>Salesforce</th><th>Field Nation</th><th>Objects</th></tr></thead><tbody>
${connections.map(
  (c) =>
    html`<tr data-connection="${c.id}"><td><a href="/setup/connections/${encodeURIComponent(c.id)}">${c.id}</a></td><td>${c.salesforce}</td><td>${c.fieldnation}</td><td>${c.objects.join(', ')}</td></tr>`,
)}
</tbody></table>`,
  );
}

export interface WebhookStatusView {
  url?: string;
  state: string;
  webhookId?: string;
  events: string[];
  problems: string[];
  canApply: boolean;
}

export interface SettingRow {
  name: string;
  value: string;
  secret?: boolean;
}

export interface ConnectionDetailView {
  mode: ModeView;
  id: string;
  salesforce: SettingRow[];
  fieldnation: SettingRow[];
  outboundUrl?: string;
  outboundNote?: string;
  metadataFiles: string[];
  metadataNote?: string;
  webhook: WebhookStatusView;
  objects: { name: string; mapping?: string; eventRules?: string; trigger?: string }[];
  csrfToken: string;
  notice?: string;
}

const settingsTable = (id: string, rows: SettingRow[]) =>
  html`<table id="${id}"><tbody>${rows.map(
    (r) => html`<tr data-setting="${r.name}"><th>${r.name}</th><td${r.secret ? raw(' class="secret"') : ''}>${r.value}</td></tr>`,
  )}</tbody></table>`;

export function renderConnectionPage(v: ConnectionDetailView): string {
  const c = encodeURIComponent(v.id);
  const editable = v.mode.mode === 'database';
  const w = v.webhook;
  return setupLayout(
    `Connection ${v.id}`,
    html`${crumbs([
      ['Setup', '/setup'],
      [v.id, undefined],
    ])}<h1>Connection ${v.id}</h1>${modeBanner(v.mode)}
${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
<form class="inline" method="post" action="/actions/test-connection">${csrfInput(v.csrfToken)}<input type="hidden" name="connectionId" value="${v.id}"><button type="submit" id="test-connection">Test connection</button></form>
<span class="muted">the preflight checks (read-only; describes and <code>/limits</code> spend Salesforce API calls)</span>
<h2>Salesforce</h2>${settingsTable('salesforce-settings', v.salesforce)}
<h2>Field Nation</h2>${settingsTable('fieldnation-settings', v.fieldnation)}
<p class="muted">Secrets are never shown: only whether the apps' environment sets them.</p>
<h2>Outbound Message URL</h2>
${v.outboundUrl ? html`<p><code id="outbound-url">${v.outboundUrl}</code></p><p class="muted">The endpoint URL of the connection's Outbound Messages in Salesforce, path token included (keep it as private as a password).</p>` : html`<p class="error">${v.outboundNote}</p>`}
<h2>Salesforce metadata</h2>
${
  v.metadataFiles.length
    ? html`<p>Generated for this connection's objects (Outbound Message and record-triggered Flow per object; deploy with <code>sf project deploy start</code>):</p><ul id="metadata-files">${v.metadataFiles.map(
        (f) => html`<li><a href="/setup/connections/${c}/metadata?file=${encodeURIComponent(f)}" download>${f}</a></li>`,
      )}</ul>`
    : html`<p class="error">${v.metadataNote}</p>`
}
<h2>Field Nation webhook</h2>
<table id="webhook"><tbody>
<tr><th>URL</th><td>${w.url ?? '—'}</td></tr>
<tr><th>Status</th><td data-state="${w.state}" class="${w.state === 'ok' ? 'outcome-ok' : 'outcome-failed'}">${w.state}${w.webhookId ? ` (webhook ${w.webhookId})` : ''}</td></tr>
<tr><th>Events</th><td>${w.events.join(', ') || '—'}</td></tr>
${w.problems.length ? html`<tr><th>Problems</th><td>${w.problems.join('; ')}</td></tr>` : ''}
</tbody></table>
${
  w.canApply
    ? html`<form method="post" action="/setup/connections/${c}/webhook">${csrfInput(v.csrfToken)}<button type="submit" id="webhook-apply">${w.state === 'missing' ? 'Register webhook' : 'Repair webhook'}</button> <span class="muted">creates it, or sets its events, status and secret (one Field Nation call each)</span></form>`
    : ''
}
<h2>Objects</h2>
<table id="objects"><thead><tr><th>Object</th><th>Trigger</th><th>Mapping</th><th>Event rules</th><th></th></tr></thead><tbody>
${v.objects.map((o) => {
  const ob = encodeURIComponent(o.name);
  return html`<tr data-object="${o.name}"><td>${o.name}</td><td><code>${o.trigger ?? ''}</code></td><td>${o.mapping ?? '—'}</td><td>${o.eventRules ?? '(connection default)'}</td><td><a href="/setup/connections/${c}/objects/${ob}/fields">Fields</a> · <a href="/setup/connections/${c}/objects/${ob}/mapping">Mapping</a> · <a href="/setup/connections/${c}/objects/${ob}/event-rules">Event rules</a></td></tr>`;
})}
</tbody></table>
<form method="get" action="/setup/connections/${c}/discover" id="add-object"><label for="new-object">${editable ? 'Map another object' : 'Discover the fields of an object'}: </label><input type="text" id="new-object" name="object" placeholder="Service_Ticket__c" pattern="[A-Za-z][A-Za-z0-9_]*" required> <button type="submit">Discover fields</button></form>`,
  );
}

export interface FieldsView {
  connectionId: string;
  object: string;
  path: string[];
  chain: Describe[];
  reads: Set<string>;
  missingReads: string[];
  apiCalls: number;
  maxDepth: number;
}

export function renderFieldsPage(v: FieldsView): string {
  const c = encodeURIComponent(v.connectionId);
  const o = encodeURIComponent(v.object);
  const here = v.chain[v.chain.length - 1]!;
  const prefix = v.path.length ? `${v.path.join('.')}.` : '';
  const link = (path: string[]) =>
    `/setup/connections/${c}/objects/${o}/fields${path.length ? `?path=${encodeURIComponent(path.join('.'))}` : ''}`;
  return setupLayout(
    `Fields of ${v.object}`,
    html`${crumbs([
      ['Setup', '/setup'],
      [v.connectionId, `/setup/connections/${c}`],
      [`${v.object} fields`, undefined],
    ])}<h1>Fields: ${[v.object, ...v.path].join(' › ')} <span class="muted">(${here.name})</span></h1>
<p>${v.path.length ? html`<a href="${link(v.path.slice(0, -1))}">↑ back to ${v.path.length > 1 ? v.path.slice(0, -1).join('.') : v.object}</a> · ` : ''}<a href="/setup/connections/${c}/objects/${o}/mapping">Mapping editor</a> · <a href="/setup/connections/${c}/objects/${o}/fields?refresh=1">Describe again</a></p>
<p class="muted" id="api-calls">Salesforce API calls spent on describes by this dashboard process for ${v.connectionId}: <strong>${v.apiCalls}</strong> (each object is described once and kept 10 minutes). Only fields the integration user can read are listed: Salesforce leaves the others out of its describe.</p>
${v.missingReads.length ? html`<p class="error" id="missing-reads">The mapping reads fields the integration user cannot read here (or that do not exist): ${v.missingReads.join(', ')}</p>` : ''}
<table id="fields"><thead><tr><th>Path</th><th>Label</th><th>Type</th><th>Picklist values</th><th>Readable</th><th>Mapped</th></tr></thead><tbody>
${here.fields.map((f) => {
  const p = `${prefix}${f.name}`;
  const rel = f.relationshipName && f.referenceTo?.length ? f.relationshipName : undefined;
  const values = (f.picklistValues ?? []).filter((x) => x.active !== false).map((x) => x.value);
  return html`<tr data-path="${p}"><td><code>${p}</code>${
    rel
      ? v.path.length + 1 < v.maxDepth
        ? html`<br><a class="relationship" href="${link([...v.path, rel])}">${rel} → ${f.referenceTo!.join(' | ')}</a>`
        : html`<br><span class="muted">${rel} → ${f.referenceTo!.join(' | ')} (5 levels: deepest)</span>`
      : ''
  }</td><td>${f.label ?? ''}</td><td>${f.type}${f.length ? ` (${f.length})` : ''}</td><td>${values.join(', ')}</td><td class="outcome-ok">yes</td><td>${v.reads.has(p) ? '✓' : ''}</td></tr>`;
})}
</tbody></table>`,
  );
}

export interface PreviewView {
  recordId: string;
  error?: string;
  apiCalls: number;
  fieldnationRequests: number;
  soql?: string;
  workOrderId?: number | null;
  rows: { target: string; next: string; current: string; changed: boolean }[];
  update?: string;
  mappingErrors?: string[];
}

export interface MappingEditorView {
  mode: ModeView;
  connectionId: string;
  object: string;
  rows: MappingRow[];
  issues: RowIssue[];
  targets: { path: string; type: string }[];
  fieldPaths: string[];
  yaml: string;
  file?: string;
  isNew: boolean;
  trigger: string;
  csrfToken: string;
  notice?: string;
  error?: string;
  preview?: PreviewView;
  recordId: string;
  message: string;
  basedOn: number | null;
  lookup?: LookupView;
  /** The catalogues offered (CLI spelling). */
  lookupCatalogues: string[];
}

export interface LookupView {
  catalogue: string;
  search: string;
  fieldnationRequests: number;
  error?: string;
  result?: LookupResult;
}

/** A lookup's answer: counts, then the entries, each with the texts a row takes and buttons the page's script acts on. */
export function lookupHtml(v: LookupView): SafeHtml {
  const counts = html`<p id="lookup-counts">Field Nation requests: <strong data-fn-requests="${v.fieldnationRequests}">${v.fieldnationRequests}</strong> · Salesforce API calls: <strong>0</strong>${
    v.result
      ? html` · ${v.result.entries.length} of ${v.result.listed} ${LOOKUP_LABELS[v.result.kind].many}${v.search.trim() ? html` matching “${v.search.trim()}”` : ''}`
      : ''
  } <span class="muted">(each list is kept 10 minutes by this dashboard, for the pickers and the name checks alike: looking again asks Field Nation nothing)</span></p>`;
  if (!v.result) return html`<div id="lookup-result">${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}${counts}</div>`;
  const r = v.result;
  const fill = LOOKUP_FILL[r.kind];
  const detail = LOOKUP_LABELS[r.kind].detail;
  const use = (text: string, label: string, how: string) =>
    html`<button type="button" class="lookup-use" data-text="${text}" data-use="${how}">${label}</button>`;
  return html`<div id="lookup-result">${counts}
${r.complete ? '' : html`<p class="error">Field Nation reports ${r.total} ${LOOKUP_LABELS[r.kind].many} but returned ${r.listed}; its definition documents no way to page further: an entry on a later page can only be written by its id.</p>`}
${
  r.entries.length
    ? html`<table id="lookup-results" data-part="${fill.part}" data-target="${fill.target ?? ''}" data-list="${fill.list ? '1' : ''}"><thead><tr><th>Id</th><th>Name</th>${detail ? html`<th>${detail}</th>` : ''}<th>Put into the selected row</th></tr></thead><tbody>
${r.entries.map(
  (e) =>
    html`<tr data-id="${e.id}" data-name="${e.name}"><td>${e.id}</td><td>${e.name || html`<span class="muted">(no name)</span>`}${e.ambiguous ? html` <span class="muted">(several share this name: use the id)</span>` : ''}</td>${detail ? html`<td>${e.detail ?? ''}</td>` : ''}<td>${
      e.byName ? html`${use(e.byName, 'by name', 'name')} <code>${e.byName}</code> · ` : ''
    }${use(e.byId, 'by id', 'id')} <code>${e.byId}</code></td></tr>`,
)}
</tbody></table>`
    : html`<p id="lookup-none">Nothing matches.</p>`
}</div>`;
}

export const renderLookupResult = (v: LookupView): string => lookupHtml(v).value;

function rowHtml(row: MappingRow, i: number, issues: RowIssue[], readonly: boolean): SafeHtml {
  const mine = issues.filter((x) => x.row === i);
  const bad = (part: string) => (mine.some((x) => x.part === part) ? raw(' class="invalid" aria-invalid="true"') : '');
  const help = ACTION_HELP[row.action];
  const dis = readonly ? raw(' disabled') : '';
  return html`<tr class="row" data-row="${i}"><td>${i + 1}</td>
<td><input type="text" name="rows[${i}][target]" value="${row.target}" list="fn-targets" placeholder="title"${bad('target')}${dis}></td>
<td><select name="rows[${i}][action]"${bad('action')}${dis}>${Object.entries(ACTIONS).map(
    ([k, label]) => html`<option value="${k}"${k === row.action ? raw(' selected') : ''}>${label}</option>`,
  )}</select></td>
<td><input type="text" name="rows[${i}][source]" value="${row.source}" list="sf-fields" placeholder="${help.source}"${bad('source')}${dis}></td>
<td><textarea name="rows[${i}][options]" rows="${Math.min(8, Math.max(1, row.options.split('\n').length))}" placeholder="${help.options}"${bad('options')}${dis}>${row.options}</textarea></td>
<td><input type="checkbox" name="rows[${i}][required]" value="1"${row.required ? raw(' checked') : ''}${dis}></td>
<td class="row-issue" data-issue-for="row-${i}">${mine.map((x) => x.message).join(' · ')}</td></tr>`;
}

export function renderMappingEditor(v: MappingEditorView): string {
  const c = encodeURIComponent(v.connectionId);
  const o = encodeURIComponent(v.object);
  const readonly = v.mode.mode !== 'database';
  const general = v.issues.filter((x) => x.row < 0);
  const p = v.preview;
  return setupLayout(
    `Mapping ${v.object}`,
    html`${crumbs([
      ['Setup', '/setup'],
      [v.connectionId, `/setup/connections/${c}`],
      [`${v.object} mapping`, undefined],
    ])}<h1>Mapping: ${v.object} → Field Nation work order</h1>${modeBanner(v.mode)}
${v.notice ? html`<p class="notice" role="status" id="notice">${v.notice}</p>` : ''}
${v.error ? html`<p class="error" role="alert" id="save-error">${v.error}</p>` : ''}
<p><a href="/setup/connections/${c}/objects/${o}/fields">Discover ${v.object}'s fields</a> (sources offered below: ${v.fieldPaths.length} discovered paths) · file <code>${v.file ?? '(new)'}</code></p>
<form method="post" action="/setup/connections/${c}/objects/${o}/mapping" data-validate="/setup/connections/${c}/objects/${o}/mapping/validate" id="mapping-form">
${csrfInput(v.csrfToken)}<input type="hidden" name="basedOn" value="${v.basedOn ?? ''}">
${v.isNew ? html`<p><label for="trigger">Trigger (SOQL condition that sends a record): </label><input type="text" id="trigger" name="trigger" value="${v.trigger}" size="50" placeholder="Send_to_Field_Nation__c = true"${readonly ? raw(' disabled') : ''}></p>` : ''}
<div id="live-issues" class="${v.issues.length ? 'error' : ''}" role="status">${general.map((x) => html`<div>${x.message}</div>`)}${v.issues.length && !general.length ? `${v.issues.length} problem${v.issues.length === 1 ? '' : 's'}: see the highlighted fields.` : ''}</div>
<table><thead><tr><th>#</th><th>Field Nation target</th><th>Action</th><th>Source (Salesforce)</th><th>Options</th><th>Required</th><th>Problems</th></tr></thead>
<tbody id="rows">${v.rows.map((r, i) => rowHtml(r, i, v.issues, readonly))}</tbody></table>
<template id="row-template">${raw(
      rowHtml({ target: '', action: 'from', source: '', options: '', required: false }, 0, [], false)
        .value.replace(/rows\[0\]/g, 'rows[__N__]')
        .replace('data-row="0"><td>1</td>', 'data-row="__N__"><td>__NUM__</td>')
        .replace('data-issue-for="row-0"', 'data-issue-for="row-__N__"'),
    )}</template>
${readonly ? '' : html`<p><button type="submit" name="intent" value="add-rows" id="add-row">Add a row</button></p>`}
<section id="lookups" data-lookup="/setup/connections/${c}/lookups"><h2>Field Nation lookups</h2>
<p class="muted">The company's types of work, custom fields, templates and projects, as <code>broker fieldnation lookup</code> lists them. A row may name an entry (<code>{ typeOfWork: "Point of Sale" }</code>, <code>customFields.Store Number</code>): the apps turn names into ids when they load the mapping, against the company they talk to (names and ids differ between sandbox and production). <span id="lookup-row">Click into a row to choose it; a button below then fills it (a custom field becomes the row's target, anything else its value, or goes where the cursor is in its options).</span></p>
<p><label for="lookup-catalogue">Catalogue: </label><select id="lookup-catalogue" name="lookupCatalogue">${v.lookupCatalogues.map(
      (k) =>
        html`<option value="${k}"${k === (v.lookup?.catalogue ?? 'types-of-work') ? raw(' selected') : ''}>${LOOKUP_LABELS[LOOKUP_CATALOGUES[k]!].many}</option>`,
    )}</select> <label for="lookup-search">search: </label><input type="text" id="lookup-search" name="lookupSearch" value="${v.lookup?.search ?? ''}" size="24" maxlength="200" placeholder="part of a name, or an id"> <button type="submit" name="intent" value="lookup" id="lookup">Look up</button></p>
<div id="lookup-box">${v.lookup ? lookupHtml(v.lookup) : ''}</div>
</section>
<h2>Live preview</h2>
<p><label for="recordId">A ${v.object} record id: </label><input type="text" id="recordId" name="recordId" value="${v.recordId}" size="20" maxlength="18" pattern="[A-Za-z0-9]{15,18}"> <button type="submit" name="intent" value="preview" id="preview">Preview</button>
<span class="muted">reads the record from Salesforce with the mapping's fields (one API call) and the work order from Field Nation; writes nothing</span></p>
${p ? previewHtml(p) : ''}
${
  readonly
    ? ''
    : html`<h2>Save</h2><p><label for="message">Why (kept with the version): </label><input type="text" id="message" name="message" value="${v.message}" size="60"> <button type="submit" name="intent" value="save" id="save">Save as a new version</button></p>`
}
<h2>The mapping file</h2>
<pre id="generated-yaml">${v.yaml}</pre>
</form>
${
  readonly
    ? ''
    : html`<details><summary>Edit as YAML</summary><form method="post" action="/setup/connections/${c}/objects/${o}/mapping">${csrfInput(v.csrfToken)}<input type="hidden" name="basedOn" value="${v.basedOn ?? ''}"><input type="hidden" name="trigger" value="${v.trigger}"><textarea name="yaml" rows="20">${v.yaml}</textarea><p><button type="submit" name="intent" value="load-yaml">Load into the rows</button> <button type="submit" name="intent" value="save-yaml">Save the YAML as a new version</button></p></form></details>`
}
<datalist id="fn-targets">${v.targets.map((t) => html`<option value="${t.path}">${t.type}</option>`)}</datalist>
<datalist id="sf-fields">${v.fieldPaths.map((f) => html`<option value="${f}"></option>`)}</datalist>`,
    { script: !readonly },
  );
}

function previewHtml(p: PreviewView): SafeHtml {
  const counts = html`<p id="preview-counts">Salesforce API calls: <strong data-sf-calls="${p.apiCalls}">${p.apiCalls}</strong> · Field Nation requests: <strong>${p.fieldnationRequests}</strong> · writes: <strong>0</strong></p>`;
  if (p.error) return html`<div id="preview-result"><p class="error" role="alert">${p.error}</p>${counts}</div>`;
  return html`<div id="preview-result">${counts}
${p.soql ? html`<p class="muted">Query: <code>${p.soql}</code></p>` : ''}
${p.mappingErrors?.length ? html`<div class="error" role="alert">The mapping fails on this record:<ul>${p.mappingErrors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ''}
<p>${p.workOrderId ? html`Synced to work order <strong id="preview-wo">${p.workOrderId}</strong>: the next sync would change the highlighted fields.` : html`Not synced yet: the next sync would <strong>create</strong> a work order with these values.`}</p>
<table id="preview"><thead><tr><th>Target</th><th>From this record</th><th>Work order now</th><th>Changes</th></tr></thead><tbody>
${p.rows.map(
  (r) =>
    html`<tr data-target="${r.target}" data-changed="${String(r.changed)}"${r.changed ? raw(' class="changed"') : ''}><td><code>${r.target}</code></td><td><code>${r.next}</code></td><td><code>${r.current}</code></td><td>${r.changed ? 'will change' : ''}</td></tr>`,
)}
</tbody></table>
${p.update !== undefined ? html`<p>What an update would send:</p><pre id="preview-update">${p.update}</pre>` : ''}</div>`;
}

export interface EventRulesView {
  mode: ModeView;
  connectionId: string;
  object: string;
  file?: string;
  own: boolean;
  text: string;
  issues: string[];
  csrfToken: string;
  notice?: string;
  events: string[];
  eventName: string;
  sample: string;
  recorded: { id: string; label: string }[];
  recordedId: string;
  result?: { matched: boolean; changes?: string; error?: string; body?: string };
  basedOn: number | null;
}

export function renderEventRulesEditor(v: EventRulesView): string {
  const c = encodeURIComponent(v.connectionId);
  const o = encodeURIComponent(v.object);
  const readonly = v.mode.mode !== 'database';
  return setupLayout(
    `Event rules ${v.object}`,
    html`${crumbs([
      ['Setup', '/setup'],
      [v.connectionId, `/setup/connections/${c}`],
      [`${v.object} event rules`, undefined],
    ])}<h1>Event rules: Field Nation events → ${v.object}</h1>${modeBanner(v.mode)}
${v.notice ? html`<p class="notice" role="status" id="notice">${v.notice}</p>` : ''}
<p>${v.own ? html`The object's own rules, <code>${v.file}</code>.` : v.file ? html`The connection's rules (<code>${v.file}</code>) apply to ${v.object} now; below is a start for rules of its own, which saving gives it.` : html`No rules yet: saving here gives ${v.object} its own file.`} Syntax: docs/mapping.md, "Event rules".</p>
<form method="post" action="/setup/connections/${c}/objects/${o}/event-rules" data-validate="/setup/connections/${c}/objects/${o}/event-rules/validate" id="rules-form">
${csrfInput(v.csrfToken)}<input type="hidden" name="basedOn" value="${v.basedOn ?? ''}">
<div id="live-issues" class="${v.issues.length ? 'error' : ''}" role="status">${v.issues.map((x) => html`<div>${x}</div>`)}</div>
<textarea name="rules" rows="24"${v.issues.length ? raw(' class="invalid" aria-invalid="true"') : ''}${readonly ? raw(' readonly') : ''}>${v.text}</textarea>
<h2>Preview</h2>
<p><label for="eventName">Sample event: </label><select id="eventName" name="eventName">${v.events.map((e) => html`<option${e === v.eventName ? raw(' selected') : ''}>${e}</option>`)}</select>
${v.recorded.length ? html` or a recorded one: <select name="recordedId" id="recordedId"><option value="">(the sample)</option>${v.recorded.map((r) => html`<option value="${r.id}"${r.id === v.recordedId ? raw(' selected') : ''}>${r.label}</option>`)}</select>` : ''}
<button type="submit" name="intent" value="preview" id="preview">Preview</button></p>
<details><summary>Sample work order (JSON, edit freely)</summary><textarea name="sample" rows="10">${v.sample}</textarea></details>
${
  v.result
    ? html`<div id="rules-result">${v.result.error ? html`<p class="error" role="alert">${v.result.error}</p>` : v.result.matched ? html`<p class="notice">The rules would write to ${v.object}:</p><pre id="rules-changes">${v.result.changes}</pre>` : html`<p class="notice" id="rules-changes">No rule matches this event: nothing would be written.</p>`}${v.result.body ? html`<details><summary>The event body</summary><pre>${v.result.body}</pre></details>` : ''}</div>`
    : ''
}
${readonly ? '' : html`<p><button type="submit" name="intent" value="save" id="save">Save as a new version</button></p>`}
</form>`,
    { script: !readonly },
  );
}

export function renderVersionsPage(m: ModeView, versions: ConfigVersionSummary[], csrfToken: string, notice?: string): string {
  return setupLayout(
    'Configuration versions',
    html`<h1>Configuration versions</h1>${modeBanner(m)}
${notice ? html`<p class="notice" role="status" id="notice">${notice}</p>` : ''}
<table id="versions"><thead><tr><th>Version</th><th>When (UTC)</th><th>Who</th><th>Why</th><th>Restart needed</th><th></th></tr></thead><tbody>
${versions.map(
  (v) =>
    html`<tr data-version="${v.version}"><td>${v.version}${v.version === m.version ? ' (in force)' : ''}</td><td>${v.createdAt.toISOString().replace('T', ' ').slice(0, 19)}</td><td>${v.createdBy}</td><td>${v.message ?? ''}${v.restoredFrom ? ` (restores ${v.restoredFrom})` : ''}</td><td>${v.restartNeeded.join(', ')}</td><td><a href="/setup/export?version=${v.version}">YAML</a>${
      v.version !== m.version && m.mode === 'database'
        ? html` <form class="inline" method="post" action="/setup/versions/rollback">${csrfInput(csrfToken)}<input type="hidden" name="to" value="${v.version}"><input type="hidden" name="basedOn" value="${m.version ?? ''}"><button type="submit" data-rollback="${v.version}">Roll back to ${v.version}</button></form>`
        : ''
    }</td></tr>`,
)}
</tbody></table>`,
  );
}
