// The setup pages (issue 16, part 3): connections, field discovery, the mapping editor with its live
// preview, the event-rules editor, versions and rollback. Behind the dashboard's authentication; every
// POST carries the form's CSRF token. Saving needs database mode (BROKER_CONFIG_SOURCE=database): in
// file mode the pages only read.
import express, { type Request, type Response } from 'express';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { ConfigError, SECRET_SETTINGS, parseRawConfig, type ConnectionConfig } from '@broker/config';
import { ConfigConflictError, ConfigVersionNotFoundError } from '@broker/config-store';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import {
  canonicalJson,
  compileObjectEventRules,
  customFieldValues,
  formatIssue,
  listTargets,
  MappingError,
  minimalUpdate,
  validateMapping,
  type CompiledMapping,
} from '@broker/mapping';
import { applyWebhookPlan, generateSalesforceMetadata, webhookPlan, webhookStatus, WebhookPlanError } from '@broker/preflight';
import { readPath } from '@broker/salesforce';
import type { CsrfTokens } from './csrf.middleware';
import { LOOKUP_CATALOGUES, lookupResult } from './fieldnation-lookups';
import { isAction, mappingOfRows, rowIssueOf, rowsOfMapping, type MappingRow, type RowIssue } from './mapping-rows';
import { SETUP_SCRIPT } from './setup-assets';
import { SetupError, type CurrentConfig, type SetupService } from './setup.service';
import {
  renderConnectionPage,
  renderConnectionsPage,
  renderEventRulesEditor,
  renderFieldsPage,
  renderLookupResult,
  renderMappingEditor,
  renderVersionsPage,
  type LookupView,
  type ModeView,
  type PreviewView,
  type SettingRow,
  type WebhookStatusView,
} from './setup.views';

const OBJECT = /^[A-Za-z][A-Za-z0-9_]*$/;
const BLANK: MappingRow = { target: '', action: 'from', source: '', options: '', required: false };
const SAMPLE_WORK_ORDER = {
  id: 1234,
  title: 'Sample work order',
  status: { id: 3, name: 'Assigned' },
  assignee: { user: { id: 5, first_name: 'Pat', last_name: 'Lee' } },
  closing_notes: 'Replaced the reader; tested.',
};

// Scripts come from this origin only (the one file above); everything else as on the other pages.
const SETUP_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface SetupRouteDeps {
  service?: SetupService;
  csrf: CsrfTokens;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** fn.event: its recent jobs are the recorded events the rules preview offers. */
  eventQueue?: Queue;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const basedOnOf = (body: Record<string, unknown>): number | null => (/^\d+$/.test(str(body.basedOn)) ? Number(str(body.basedOn)) : null);
const authorOf = (req: Request) => `dashboard:${req.principal!.name}`;

function rowsOfBody(body: Record<string, unknown>): MappingRow[] {
  const raw = body.rows;
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((r, i) => [String(i), r])
    : raw && typeof raw === 'object'
      ? Object.entries(raw)
      : [];
  return entries
    .filter(([k]) => /^\d+$/.test(k))
    .sort(([a], [b]) => Number(a) - Number(b))
    .slice(0, 300)
    .map(([, r]) => {
      const row = (r ?? {}) as Record<string, unknown>;
      const action = str(row.action);
      return {
        target: str(row.target).trim(),
        action: isAction(action) ? action : 'from',
        source: str(row.source),
        options: str(row.options).replace(/\r\n/g, '\n'),
        required: str(row.required) === '1',
      };
    });
}

const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

export function setupRouter(deps: SetupRouteDeps): express.Router {
  const router = express.Router();
  const svc = () => {
    if (!deps.service)
      throw new SetupError(
        404,
        'the setup pages need the configuration: set BROKER_CONFIG or BROKER_CONFIG_SOURCE=database for the dashboard',
      );
    return deps.service;
  };
  const page = (res: Response, body: string, status = 200) => {
    res.setHeader('Content-Security-Policy', SETUP_CSP);
    res.status(status).type('html').send(body);
  };
  const mode = (cur: CurrentConfig): ModeView => ({ mode: svc().mode, version: cur.version });
  const editable = () => svc().mode === 'database' && svc().configStore !== undefined;
  const token = (req: Request) => deps.csrf.tokenFor(req.principal!.name);

  router.get('/assets/setup.js', (_req, res) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    res.type('application/javascript').send(SETUP_SCRIPT);
  });

  const forms = express.urlencoded({ extended: true, limit: '512kb', parameterLimit: 3000 });
  const csrfCheck = (req: Request, res: Response, next: express.NextFunction) => {
    if (!deps.csrf.verify(req.principal!.name, str((req.body as Record<string, unknown> | undefined)?._csrf))) {
      res.status(403).type('text/plain').send('missing or invalid CSRF token: reload the page and try again');
      return;
    }
    next();
  };
  const post = (path: string, handler: (req: Request, res: Response) => Promise<void>) =>
    router.post(path, forms, csrfCheck, (req, res, next) => void handler(req, res).catch(next));
  const get = (path: string, handler: (req: Request, res: Response) => Promise<void>) =>
    router.get(path, (req, res, next) => void handler(req, res).catch(next));

  const params = (req: Request, cur: CurrentConfig) => {
    const connection = svc().connectionOf(cur.config, String(req.params.connectionId));
    const object = String(req.params.object ?? '');
    if (req.params.object !== undefined && !OBJECT.test(object)) throw new SetupError(400, `"${object}" is not a Salesforce object name`);
    return { connection, object };
  };

  // ── connections ──
  get('/', async (_req, res) => {
    const cur = await svc().current();
    page(
      res,
      renderConnectionsPage(
        mode(cur),
        cur.config.connections.map((c) => ({
          id: c.id,
          salesforce: `${c.salesforce.instance} (API ${c.salesforce.apiVersion}, org ${c.salesforce.organizationId})`,
          fieldnation: c.fieldnation.environment,
          objects: Object.keys(c.objects),
        })),
      ),
    );
  });

  get('/connections/:connectionId', async (req, res) => {
    const cur = await svc().current();
    const { connection } = params(req, cur);
    const rawConnection = ((parseRawConfig(cur.bundle.main) as { connections?: Record<string, unknown>[] }).connections ?? []).find(
      (c) => c?.id === connection.id,
    );
    const publicUrl = svc().publicUrl;
    let outboundUrl: string | undefined;
    let outboundNote: string | undefined;
    if (!publicUrl) outboundNote = "set PUBLIC_URL (the ingress's public base URL) in the dashboard's environment to show it";
    else if (!connection.salesforce.pathToken)
      outboundNote = 'salesforce.pathToken is not set: the endpoint refuses Outbound Messages without it (broker salesforce path-token)';
    else
      outboundUrl = `${publicUrl.replace(/\/+$/, '')}/salesforce/outbound/${encodeURIComponent(connection.id)}/${connection.salesforce.pathToken}`;

    let metadataFiles: string[] = [];
    let metadataNote: string | undefined;
    if (publicUrl) metadataFiles = generateSalesforceMetadata({ connection, endpoint: publicUrl }).files.map((f) => f.path);
    else metadataNote = "set PUBLIC_URL in the dashboard's environment: the Outbound Messages must name the ingress";

    page(
      res,
      renderConnectionPage({
        mode: mode(cur),
        id: connection.id,
        salesforce: settingRows(connection, rawConnection, 'salesforce', deps.env),
        fieldnation: settingRows(connection, rawConnection, 'fieldnation', deps.env),
        outboundUrl,
        outboundNote,
        metadataFiles,
        metadataNote,
        webhook: await webhookView(svc(), cur, connection),
        objects: Object.entries(connection.objects).map(([name, o]) => ({
          name,
          mapping: o.mapping,
          eventRules: o.eventRules,
          trigger: o.trigger,
        })),
        csrfToken: token(req),
        notice: str(req.query.done) || undefined,
      }),
    );
  });

  get('/connections/:connectionId/metadata', async (req, res) => {
    const cur = await svc().current();
    const { connection } = params(req, cur);
    const publicUrl = svc().publicUrl;
    if (!publicUrl) throw new SetupError(409, "set PUBLIC_URL in the dashboard's environment: the Outbound Messages must name the ingress");
    const file = generateSalesforceMetadata({ connection, endpoint: publicUrl }).files.find((f) => f.path === str(req.query.file));
    if (!file) throw new SetupError(404, `no generated file ${str(req.query.file)}`);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${file.path
        .split('/')
        .pop()!
        .replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    );
    res.type('application/xml').send(file.content);
  });

  post('/connections/:connectionId/webhook', async (req, res) => {
    const cur = await svc().current();
    const { connection } = params(req, cur);
    let plan;
    try {
      plan = webhookPlan(cur.config, connection, svc().publicUrl);
    } catch (err) {
      if (err instanceof WebhookPlanError) throw new SetupError(409, err.message);
      throw err;
    }
    const done = await applyWebhookPlan(svc().fieldnation(connection), plan, connection.fieldnation.webhookSecret);
    deps.logger.info(
      { connectionId: connection.id, ...done, by: req.principal!.name },
      'Field Nation webhook applied from the setup pages',
    );
    res.redirect(
      303,
      `/setup/connections/${encodeURIComponent(connection.id)}?${new URLSearchParams({ done: `Webhook ${done.webhookId} ${done.action}: ${plan.events.length} events to ${plan.url}.` })}`,
    );
  });

  get('/connections/:connectionId/discover', async (req, res) => {
    const object = str(req.query.object).trim();
    if (!OBJECT.test(object)) throw new SetupError(400, `"${object}" is not a Salesforce object name`);
    res.redirect(
      303,
      `/setup/connections/${encodeURIComponent(String(req.params.connectionId))}/objects/${encodeURIComponent(object)}/fields`,
    );
  });

  // ── field discovery ──
  get('/connections/:connectionId/objects/:object/fields', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    if (req.query.refresh) svc().forgetDescribes(connection.id);
    const path = str(req.query.path).split('.').filter(Boolean);
    const chain = await svc().walk(connection, object, path);
    const mappingText = svc().fileText(cur, connection.objects[object]?.mapping);
    const reads = new Set<string>();
    const missingReads: string[] = [];
    if (mappingText) {
      try {
        const compiled = await validateMapping(mappingText, { file: 'mapping' });
        for (const r of compiled.reads) {
          reads.add(r);
          const known = await svc().knownPath(connection, object, r);
          if (known !== 'ok' && known !== 'unknown') missingReads.push(`${r} (${known})`);
        }
      } catch {
        // the mapping editor shows why it does not compile
      }
    }
    page(
      res,
      renderFieldsPage({
        connectionId: connection.id,
        object,
        path,
        chain,
        reads,
        missingReads,
        apiCalls: svc().describeCalls(connection.id),
        maxDepth: 6,
      }),
    );
  });

  // ── Field Nation lookups (the mapping editor's pickers) ──
  async function lookupView(connection: ConnectionConfig, catalogue: string, search: string): Promise<LookupView> {
    const kind = LOOKUP_CATALOGUES[catalogue];
    if (!kind)
      return { catalogue, search, fieldnationRequests: 0, error: `choose a catalogue: ${Object.keys(LOOKUP_CATALOGUES).join(', ')}` };
    const got = await svc().catalogue(connection, kind);
    if ('error' in got) return { catalogue, search, fieldnationRequests: got.fieldnationRequests, error: got.error };
    return { catalogue, search, fieldnationRequests: got.fieldnationRequests, result: lookupResult(catalogue, got.list, search) };
  }

  // JSON for the editor's script: the entries, the counts, and the same fragment the page renders without it.
  get('/connections/:connectionId/lookups', async (req, res) => {
    const cur = await svc().current();
    const { connection } = params(req, cur);
    const view = await lookupView(connection, str(req.query.catalogue), str(req.query.search).slice(0, 200));
    res.setHeader('Cache-Control', 'no-store');
    res.status(!LOOKUP_CATALOGUES[view.catalogue] ? 400 : view.error ? 502 : 200).json({
      catalogue: view.catalogue,
      search: view.search,
      fieldnationRequests: view.fieldnationRequests,
      error: view.error,
      ...(view.result
        ? {
            listed: view.result.listed,
            total: view.result.total,
            complete: view.result.complete,
            results: view.result.entries,
          }
        : {}),
      html: renderLookupResult(view),
    });
  });

  // ── mapping editor ──
  /** Every field path discovered so far for the object: its own fields and those of the parents described. */
  async function discoveredPaths(connection: ConnectionConfig, object: string): Promise<string[]> {
    const paths: string[] = [];
    const visit = async (obj: string, prefix: string, depth: number) => {
      const d = await svc()
        .describe(connection, obj)
        .catch(() => undefined);
      if (!d) return;
      for (const f of d.fields) {
        paths.push(`${prefix}${f.name}`);
        // Parents already described (by the field pages) are offered too; nothing more is fetched here.
        if (depth < 5 && f.relationshipName && f.referenceTo?.[0] && (await svc().knownPath(connection, f.referenceTo[0], 'Id')) === 'ok')
          await visit(f.referenceTo[0], `${prefix}${f.relationshipName}.`, depth + 1);
      }
    };
    await visit(object, '', 0);
    return paths;
  }

  async function checkRows(connection: ConnectionConfig, object: string, rows: MappingRow[], previous: string | null) {
    const { text, issues } = mappingOfRows(object, rows, previous ?? undefined);
    const all: RowIssue[] = [...issues];
    let compiled: CompiledMapping | undefined;
    try {
      compiled = await validateMapping(text, { file: 'mapping', lookup: svc().lookup(connection) });
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      all.push(...err.issues.map((i) => rowIssueOf(i, rows)));
    }
    // Sources against the describes already fetched (no Salesforce call while typing).
    for (const [i, row] of rows.entries()) {
      if (!row.target.trim() || all.some((x) => x.row === i && x.part === 'source')) continue;
      const paths =
        row.action === 'from' || row.action === 'map' || row.action === 'range' || row.action === 'date'
          ? [row.source.trim()]
          : row.action === 'concat' || row.action === 'jsonata' || row.action === 'jsonnet'
            ? row.source
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : [];
      for (const p of paths.filter(Boolean)) {
        const known = await svc().knownPath(connection, object, p);
        if (known !== 'ok' && known !== 'unknown') {
          all.push({ row: i, part: 'source', message: `${p}: ${known}` });
          break;
        }
      }
    }
    return { text, issues: all, compiled: all.length ? undefined : compiled };
  }

  async function editorPage(
    req: Request,
    res: Response,
    cur: CurrentConfig,
    connection: ConnectionConfig,
    object: string,
    state: {
      rows?: MappingRow[];
      issues?: RowIssue[];
      yaml?: string;
      notice?: string;
      error?: string;
      preview?: PreviewView;
      recordId?: string;
      message?: string;
      trigger?: string;
      basedOn?: number | null;
      lookup?: LookupView;
    },
    status = 200,
  ) {
    const file = connection.objects[object]?.mapping;
    const text = svc().fileText(cur, file);
    let rows = state.rows;
    if (!rows) rows = text ? rowsOfMapping(text).rows : [];
    const shown = [...rows];
    while (shown.length < rows.length + 2) shown.push({ ...BLANK });
    const yaml = state.yaml ?? text ?? mappingOfRows(object, rows).text;
    page(
      res,
      renderMappingEditor({
        mode: mode(cur),
        connectionId: connection.id,
        object,
        rows: shown,
        issues: state.issues ?? [],
        targets: listTargets().map((t) => ({ path: t.path, type: t.type })),
        fieldPaths: await discoveredPaths(connection, object),
        yaml,
        file,
        isNew: !connection.objects[object],
        trigger: state.trigger ?? connection.objects[object]?.trigger ?? '',
        csrfToken: token(req),
        notice: state.notice,
        error: state.error,
        preview: state.preview,
        recordId: state.recordId ?? '',
        message: state.message ?? '',
        basedOn: state.basedOn !== undefined ? state.basedOn : cur.version,
        lookup: state.lookup,
        lookupCatalogues: Object.keys(LOOKUP_CATALOGUES),
      }),
      status,
    );
  }

  get('/connections/:connectionId/objects/:object/mapping', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    const saved = str(req.query.saved);
    await editorPage(req, res, cur, connection, object, {
      notice: saved ? `Saved as version ${saved}: the workers use it from their next job, no restart.` : undefined,
    });
  });

  post('/connections/:connectionId/objects/:object/mapping/validate', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    const rows = rowsOfBody(req.body as Record<string, unknown>);
    const previous = svc().fileText(cur, connection.objects[object]?.mapping);
    const { text, issues } = await checkRows(connection, object, rows, previous);
    res.json({ issues, yaml: text });
  });

  post('/connections/:connectionId/objects/:object/mapping', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    const body = req.body as Record<string, unknown>;
    const intent = str(body.intent);
    const previous = svc().fileText(cur, connection.objects[object]?.mapping);
    const trigger = str(body.trigger).trim();
    const basedOn = basedOnOf(body);
    const common = { recordId: str(body.recordId).trim(), message: str(body.message), trigger, basedOn };

    if (intent === 'load-yaml' || intent === 'save-yaml') {
      const yaml = str(body.yaml).replace(/\r\n/g, '\n');
      let rows: MappingRow[];
      try {
        rows = rowsOfMapping(yaml).rows;
      } catch (err) {
        return editorPage(req, res, cur, connection, object, { ...common, yaml, error: `not valid YAML: ${(err as Error).message}` }, 422);
      }
      if (intent === 'load-yaml') {
        const { issues } = await checkRows(connection, object, rows, yaml);
        return editorPage(req, res, cur, connection, object, { ...common, rows, issues });
      }
      try {
        await validateMapping(yaml, { file: 'mapping', lookup: svc().lookup(connection) });
      } catch (err) {
        if (!(err instanceof MappingError)) throw err;
        return editorPage(
          req,
          res,
          cur,
          connection,
          object,
          { ...common, rows, yaml, issues: err.issues.map((i) => rowIssueOf(i, rows)), error: 'Not saved: the mapping has problems.' },
          422,
        );
      }
      return saveMapping(req, res, cur, connection, object, yaml, { ...common, rows });
    }

    const rows = rowsOfBody(body);
    if (intent === 'add-rows')
      return editorPage(req, res, cur, connection, object, { ...common, rows: [...rows, { ...BLANK }, { ...BLANK }] });
    const checked = await checkRows(connection, object, rows, previous);
    if (intent === 'lookup') {
      // Without the page's script: the same lookup, the rows kept as they were typed.
      const lookup = await lookupView(connection, str(body.lookupCatalogue), str(body.lookupSearch).slice(0, 200));
      return editorPage(req, res, cur, connection, object, { ...common, rows, issues: checked.issues, yaml: checked.text, lookup });
    }
    if (intent === 'preview') {
      const preview = checked.compiled
        ? await previewRecord(connection, object, checked.compiled, common.recordId)
        : { recordId: common.recordId, apiCalls: 0, fieldnationRequests: 0, rows: [], error: 'Fix the mapping first: nothing was read.' };
      return editorPage(req, res, cur, connection, object, { ...common, rows, issues: checked.issues, yaml: checked.text, preview });
    }
    if (intent !== 'save') throw new SetupError(400, 'unknown action');
    if (checked.issues.length || !checked.compiled) {
      return editorPage(
        req,
        res,
        cur,
        connection,
        object,
        { ...common, rows, issues: checked.issues, yaml: checked.text, error: 'Not saved: fix the highlighted fields.' },
        422,
      );
    }
    return saveMapping(req, res, cur, connection, object, checked.text, { ...common, rows });
  });

  async function saveMapping(
    req: Request,
    res: Response,
    cur: CurrentConfig,
    connection: ConnectionConfig,
    object: string,
    text: string,
    state: { rows: MappingRow[]; recordId: string; message: string; trigger: string; basedOn: number | null },
  ) {
    if (!editable()) throw new SetupError(409, 'the configuration is a file (BROKER_CONFIG): it is read-only here');
    const isNew = !connection.objects[object];
    if (isNew && !state.trigger)
      return editorPage(
        req,
        res,
        cur,
        connection,
        object,
        {
          ...state,
          issues: [{ row: -1, part: null, message: 'a new object needs its trigger (the condition that sends a record)' }],
          error: 'Not saved: the trigger is missing.',
        },
        422,
      );
    const bundle = svc().withFile(
      cur,
      connection.id,
      ['objects', object, 'mapping'],
      `mappings/${object}.yaml`,
      text,
      isNew ? { trigger: state.trigger } : {},
    );
    try {
      const saved = await svc().configStore!.save({
        bundle,
        author: authorOf(req),
        message: state.message || `mapping of ${object} (${connection.id}) from the dashboard`,
        basedOn: state.basedOn,
        validate: { env: deps.env, catalogues: await svc().namedCatalogues(bundle) },
      });
      deps.logger.info(
        { connectionId: connection.id, object, version: saved.version.version, by: req.principal!.name },
        'mapping saved from the setup pages',
      );
      res.redirect(
        303,
        `/setup/connections/${encodeURIComponent(connection.id)}/objects/${encodeURIComponent(object)}/mapping?saved=${saved.version.version}`,
      );
    } catch (err) {
      const error = saveError(err);
      if (!error) throw err;
      return editorPage(req, res, cur, connection, object, { ...state, error }, err instanceof ConfigConflictError ? 409 : 422);
    }
  }

  async function previewRecord(
    connection: ConnectionConfig,
    object: string,
    compiled: CompiledMapping,
    recordId: string,
  ): Promise<PreviewView> {
    const base: PreviewView = { recordId, apiCalls: 0, fieldnationRequests: 0, rows: [] };
    if (!/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(recordId)) return { ...base, error: 'Give a record id (15 or 18 characters).' };
    let read;
    try {
      read = await svc().readRecord(connection, object, recordId, compiled.reads);
    } catch (err) {
      if (err instanceof SetupError) return { ...base, apiCalls: 1, error: err.message };
      throw err;
    }
    if (!read.record)
      return { ...base, apiCalls: read.apiCalls, soql: read.soql, error: `No ${object} ${recordId} that the integration user can see.` };
    let payload: Record<string, unknown> | undefined;
    let mappingErrors: string[] | undefined;
    try {
      payload = await compiled.map(read.record);
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      mappingErrors = err.issues.map((i) => formatIssue(i));
    }
    const { correlation, workOrder, fieldnationRequests } = await svc().currentWorkOrder(connection, recordId);
    const valueAt = (source: Record<string, unknown> | undefined, path: string) => {
      if (!source) return undefined;
      const custom = /^custom_fields\.(\d+)$/.exec(path);
      if (custom) return customFieldValues(source.custom_fields).get(Number(custom[1]));
      return readPath(source, path);
    };
    const same = (a: unknown, b: unknown) =>
      a === b ||
      canonicalJson(a) === canonicalJson(b) ||
      ((typeof a === 'number' || typeof a === 'string') && (typeof b === 'number' || typeof b === 'string') && String(a) === String(b));
    const rows = compiled.writes.map((target) => {
      const next = valueAt(payload, target);
      const current = valueAt(workOrder, target);
      return {
        target,
        next: show(next),
        current: workOrder ? show(current) : '(no work order)',
        changed: !workOrder || !same(next, current),
      };
    });
    const update = payload && workOrder ? minimalUpdate(workOrder, payload, compiled.createOnly) : undefined;
    return {
      ...base,
      apiCalls: read.apiCalls,
      fieldnationRequests,
      soql: read.soql,
      workOrderId: correlation?.workOrderId,
      rows,
      mappingErrors,
      update: payload && workOrder ? (update ? JSON.stringify(update, null, 2) : 'nothing: the work order already says this') : undefined,
    };
  }

  // ── event rules ──
  const rulesFileOf = (connection: ConnectionConfig, object: string) => {
    const own = connection.objects[object]?.eventRules;
    return { file: own ?? connection.eventRules, own: Boolean(own) };
  };
  const rulesIssues = (text: string, object: string): string[] => {
    try {
      compileObjectEventRules(text, { file: 'rules', object });
      return [];
    } catch (err) {
      if (err instanceof MappingError) return err.issues.map((i) => formatIssue(i));
      return [(err as Error).message];
    }
  };
  async function recordedEvents() {
    if (!deps.eventQueue) return [];
    const jobs = await deps.eventQueue.getJobs(['completed', 'failed'], 0, 19, false).catch(() => []);
    return jobs.filter(Boolean).map((j) => {
      const b = (j.data as { body?: { event?: { name?: string }; workorder?: { id?: unknown } } }).body;
      return {
        id: String(j.id),
        label: `${b?.event?.name ?? '?'} · work order ${String(b?.workorder?.id ?? '?')} · ${new Date(j.timestamp).toISOString().slice(0, 19)}`,
        body: b,
      };
    });
  }

  async function rulesPage(
    req: Request,
    res: Response,
    cur: CurrentConfig,
    connection: ConnectionConfig,
    object: string,
    state: {
      text?: string;
      notice?: string;
      eventName?: string;
      sample?: string;
      recordedId?: string;
      result?: { matched: boolean; changes?: string; error?: string; body?: string };
      basedOn?: number | null;
      extraIssues?: string[];
    },
    status = 200,
  ) {
    const { file, own } = rulesFileOf(connection, object);
    // Another object's file (the connection's default) cannot be saved as this object's own: start from a sketch.
    const text =
      state.text ??
      (own ? svc().fileText(cur, file) : null) ??
      `object: ${object}\nrules:\n  - name: assigned\n    on: workorder.status.assigned\n    fields:\n      Status__c: { value: Technician Assigned }\n`;
    const recorded = await recordedEvents();
    page(
      res,
      renderEventRulesEditor({
        mode: mode(cur),
        connectionId: connection.id,
        object,
        file,
        own,
        text,
        issues: [...rulesIssues(text, object), ...(state.extraIssues ?? [])],
        csrfToken: token(req),
        notice: state.notice,
        events: [...FN_WEBHOOK_EVENTS],
        eventName: state.eventName ?? 'workorder.status.assigned',
        sample: state.sample ?? JSON.stringify(SAMPLE_WORK_ORDER, null, 2),
        recorded: recorded.map(({ id, label }) => ({ id, label })),
        recordedId: state.recordedId ?? '',
        result: state.result,
        basedOn: state.basedOn !== undefined ? state.basedOn : cur.version,
      }),
      status,
    );
  }

  get('/connections/:connectionId/objects/:object/event-rules', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    const saved = str(req.query.saved);
    await rulesPage(req, res, cur, connection, object, {
      notice: saved ? `Saved as version ${saved}: the mapper uses it from its next event, no restart.` : undefined,
    });
  });

  post('/connections/:connectionId/objects/:object/event-rules/validate', async (req, res) => {
    const cur = await svc().current();
    const { object } = params(req, cur);
    const issues = rulesIssues(str((req.body as Record<string, unknown>).rules).replace(/\r\n/g, '\n'), object);
    res.json({ issues: issues.map((message) => ({ row: -1, part: null, field: 'rules', message })) });
  });

  post('/connections/:connectionId/objects/:object/event-rules', async (req, res) => {
    const cur = await svc().current();
    const { connection, object } = params(req, cur);
    const body = req.body as Record<string, unknown>;
    const text = str(body.rules).replace(/\r\n/g, '\n');
    const state = {
      text,
      eventName: str(body.eventName) || 'workorder.status.assigned',
      sample: str(body.sample),
      recordedId: str(body.recordedId),
      basedOn: basedOnOf(body),
    };
    const issues = rulesIssues(text, object);
    if (str(body.intent) === 'preview') {
      let result: { matched: boolean; changes?: string; error?: string; body?: string };
      if (issues.length) result = { matched: false, error: 'Fix the rules first.' };
      else {
        let event: unknown;
        if (state.recordedId) event = (await recordedEvents()).find((r) => r.id === state.recordedId)?.body;
        if (!event) {
          let workorder: unknown;
          try {
            workorder = JSON.parse(state.sample || '{}');
          } catch (err) {
            workorder = undefined;
            result = { matched: false, error: `The sample work order is not JSON: ${(err as Error).message}` };
            return rulesPage(req, res, cur, connection, object, { ...state, result }, 422);
          }
          event = { event: { name: state.eventName, params: {} }, timestamp: new Date().toISOString(), workorder };
        }
        try {
          const changes = await compileObjectEventRules(text, { file: 'rules', object }).apply(event as never);
          result = {
            matched: Boolean(changes),
            changes: changes ? JSON.stringify(changes, null, 2) : undefined,
            body: JSON.stringify(event, null, 2),
          };
        } catch (err) {
          result = {
            matched: false,
            error: err instanceof MappingError ? err.message : (err as Error).message,
            body: JSON.stringify(event, null, 2),
          };
        }
      }
      return rulesPage(req, res, cur, connection, object, { ...state, result });
    }
    if (str(body.intent) !== 'save') throw new SetupError(400, 'unknown action');
    if (!editable()) throw new SetupError(409, 'the configuration is a file (BROKER_CONFIG): it is read-only here');
    if (issues.length) return rulesPage(req, res, cur, connection, object, { ...state, notice: undefined }, 422);
    const { own } = rulesFileOf(connection, object);
    const bundle = svc().withFile(cur, connection.id, ['objects', object, 'eventRules'], own ? '' : `mappings/${object}-events.yaml`, text);
    try {
      const saved = await svc().configStore!.save({
        bundle,
        author: authorOf(req),
        message: `event rules of ${object} (${connection.id}) from the dashboard`,
        basedOn: state.basedOn,
        validate: { env: deps.env, catalogues: await svc().namedCatalogues(bundle) },
      });
      res.redirect(
        303,
        `/setup/connections/${encodeURIComponent(connection.id)}/objects/${encodeURIComponent(object)}/event-rules?saved=${saved.version.version}`,
      );
    } catch (err) {
      const error = saveError(err);
      if (!error) throw err;
      return rulesPage(req, res, cur, connection, object, { ...state, extraIssues: [error] }, 422);
    }
  });

  // ── versions ──
  get('/versions', async (req, res) => {
    const cur = await svc().current();
    const versions = svc().configStore ? await svc().configStore!.list({ limit: 100 }) : [];
    const rolled = str(req.query.rolledBack);
    page(res, renderVersionsPage(mode(cur), versions, token(req), rolled ? `Rolled back: version ${rolled} is in force.` : undefined));
  });

  post('/versions/rollback', async (req, res) => {
    if (!editable()) throw new SetupError(409, 'the configuration is a file (BROKER_CONFIG): it is read-only here');
    const body = req.body as Record<string, unknown>;
    const to = Number(str(body.to));
    if (!Number.isInteger(to) || to < 1) throw new SetupError(400, 'which version?');
    try {
      const target = (await svc().configStore!.export(to))!;
      const catalogues = await svc().namedCatalogues(target.bundle);
      const saved = await svc().configStore!.rollback({
        to,
        author: authorOf(req),
        basedOn: basedOnOf(body),
        validate: { env: deps.env, catalogues },
      });
      deps.logger.info({ to, version: saved.version.version, by: req.principal!.name }, 'configuration rolled back from the setup pages');
      res.redirect(303, `/setup/versions?rolledBack=${saved.version.version}`);
    } catch (err) {
      if (err instanceof ConfigVersionNotFoundError) throw new SetupError(404, err.message);
      const error = saveError(err);
      if (!error) throw err;
      throw new SetupError(err instanceof ConfigConflictError ? 409 : 422, error);
    }
  });

  get('/export', async (req, res) => {
    const s = svc();
    let bundle = (await s.current()).bundle;
    let name = 'broker';
    const version = str(req.query.version);
    if (version) {
      if (!s.configStore || !/^\d+$/.test(version)) throw new SetupError(404, `no version ${version}`);
      const v = await s.configStore.export(Number(version)).catch(() => null);
      if (!v) throw new SetupError(404, `no version ${version}`);
      bundle = v.bundle;
      name = `broker-v${version}`;
    }
    const file = str(req.query.file);
    const text = file ? bundle.files[file] : bundle.main;
    if (text === undefined) throw new SetupError(404, `no file ${file} in this configuration`);
    const listing = file
      ? ''
      : Object.keys(bundle.files)
          .map((f) => `# file of this configuration: ${f} (?file=${encodeURIComponent(f)})\n`)
          .join('');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${
        file
          ? file
              .split('/')
              .pop()!
              .replace(/[^A-Za-z0-9._-]/g, '_')
          : `${name}.yaml`
      }"`,
    );
    res.type('text/yaml').send(listing + text);
  });

  return router;
}

function saveError(err: unknown): string | undefined {
  if (err instanceof ConfigConflictError) return err.message;
  if (err instanceof ConfigError) return `Not saved: ${err.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  if (err instanceof SetupError) return err.message;
  return undefined;
}

/** Settings of one side of a connection; secrets only as "set / not set from the environment". */
function settingRows(
  connection: ConnectionConfig,
  raw: Record<string, unknown> | undefined,
  side: 'salesforce' | 'fieldnation',
  env: NodeJS.ProcessEnv,
): SettingRow[] {
  const at = (value: unknown, dotted: string): unknown =>
    dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
  const secrets = new Set(SECRET_SETTINGS.filter((s) => s.startsWith(`${side}.`)).map((s) => s.slice(side.length + 1)));
  const plain =
    side === 'salesforce'
      ? [
          'instance',
          'apiVersion',
          'organizationId',
          'auth.flow',
          'auth.username',
          'auth.clientId',
          'auth.privateKeyFile',
          'integrationUserId',
        ]
      : ['environment', 'auth.clientId', 'auth.username', 'integrationUserId', 'requestsPerSecond'];
  const resolved = connection[side] as unknown;
  const rows: SettingRow[] = [];
  for (const name of plain) {
    const v = at(resolved, name);
    if (v !== undefined && v !== null && v !== '') rows.push({ name: `${side}.${name}`, value: String(v) });
  }
  for (const name of secrets) {
    const written = at(raw?.[side], name);
    const value = at(resolved, name);
    if (written === undefined) continue;
    const variable = typeof written === 'string' ? /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}$/.exec(written.trim())?.[1] : undefined;
    const text = variable
      ? env[variable]
        ? `set from the environment (${variable})`
        : value
          ? `not set in the environment (${variable}): the file's default is used`
          : `not set: the environment has no ${variable}`
      : value
        ? 'set in the file (move it to the environment)'
        : 'not set';
    rows.push({ name: `${side}.${name}`, value: text, secret: true });
  }
  return rows;
}

async function webhookView(svc: SetupService, cur: CurrentConfig, connection: ConnectionConfig): Promise<WebhookStatusView> {
  let plan;
  try {
    plan = webhookPlan(cur.config, connection, svc.publicUrl);
  } catch (err) {
    if (err instanceof WebhookPlanError || err instanceof MappingError)
      return { state: 'not planned', events: [], problems: [err.message], canApply: false };
    throw err;
  }
  try {
    const status = await webhookStatus(svc.fieldnation(connection), plan);
    return {
      url: plan.url,
      state: status.state,
      webhookId: status.hook?.webhookId,
      events: status.hook?.events ?? plan.events,
      problems: status.problems,
      canApply: status.state === 'missing' || status.state === 'needs-repair',
    };
  } catch (err) {
    return { url: plan.url, state: 'unknown', events: plan.events, problems: [`Field Nation: ${(err as Error).message}`], canApply: false };
  }
}
