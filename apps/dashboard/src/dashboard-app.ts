import express, { type NextFunction, type Request, type Response } from 'express';
import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { QueueOf, sfFetchQueue } from '@broker/contracts';
import type { PreflightReport } from '@broker/preflight';
import type { Store } from '@broker/store';
import { normaliseRecordId } from '@broker/salesforce';
import { authMiddleware } from './auth.middleware';
import type { AuthSettings } from './auth.settings';
import { createCsrfTokens, sameOriginMiddleware, type CsrfTokens } from './csrf.middleware';
import { renderHomePage } from './home.page';
import { loopbackHostMiddleware } from './loopback-host.middleware';
import { html } from './html.template';
import { layout } from './layout.view';
import { connectionsSection, configErrorSection, renderPreflightPage } from './preflight.page';
import { QUEUE_STATES } from './queue-metrics';
import { ActionError, replayJob, resyncRecord } from './record-actions';
import { renderTimelinePage, type TimelineRowView } from './timeline.page';
import { setupRouter } from './setup.routes';
import { SetupError, type SetupService } from './setup.service';

export interface DashboardDeps {
  /** Every pipeline queue, opened (Bull Board, replay, counts). */
  queues: readonly Queue[];
  fetchQueue: QueueOf<typeof sfFetchQueue>;
  store: Store;
  logger: Logger;
  auth: AuthSettings;
  registry: Registry;
  /** Redis and PostgreSQL reachable. */
  ready: () => Promise<boolean>;
  /** Extra origins allowed to POST (a reverse proxy that rewrites Host). */
  allowedOrigins?: string[];
  csrf?: CsrfTokens;
  /**
   * "Test connection" (absent without a configuration): the configuration in force, loaded when asked,
   * as its connections and the live preflight of one of them. Rejects when it does not load.
   */
  preflight?: () => Promise<{ connectionIds: readonly string[]; run(connectionId: string): Promise<PreflightReport> }>;
  /** The setup pages (absent without a configuration: they answer 404 saying what to set). */
  setup?: SetupService;
  /** Resolves `${ENV}` when a version saved from the setup pages is validated (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

const BULL_BOARD_PATH = '/queues';

export { normaliseRecordId };

const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

export function createDashboardApp(deps: DashboardDeps): express.Express {
  const app = express();
  const csrf = deps.csrf ?? createCsrfTokens();
  const queueByName = new Map(deps.queues.map((q) => [q.name, q]));
  app.disable('x-powered-by');
  app.set('etag', false);
  // Without authentication, the Host check is what keeps other sites' pages out (DNS rebinding).
  if (deps.auth.mode === 'insecure') app.use(loopbackHostMiddleware());

  app.use((_req, res, next) => {
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Probes stay open: kubelet and compose health checks carry no credentials, and they reveal nothing.
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready().catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });

  app.use(authMiddleware(deps.auth));
  app.use(sameOriginMiddleware(deps.allowedOrigins));

  app.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: deps.queues.map((q) => new BullMQAdapter(q)),
    // @bull-board/express pins its own patch release of @bull-board/api: same shape, separate
    // declarations of a private field, hence the cast.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Broker queues', miscLinks: [{ text: 'Timeline search', url: '/' }] } },
  });
  app.use(BULL_BOARD_PATH, serverAdapter.getRouter());

  // Our pages carry no script at all; the policy makes an escaping slip inert.
  const pageHeaders = (res: Response) => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    res.type('html');
  };

  app.get('/', async (req, res) => {
    const counts = await Promise.all(deps.queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...QUEUE_STATES) })));
    pageHeaders(res);
    const connections = deps.preflight && (await connectionsOrError(deps.preflight, csrf.tokenFor(req.principal!.name)));
    res.send(renderHomePage(counts, connections));
  });

  app.get('/timeline', async (req, res) => {
    const raw = typeof req.query.id === 'string' ? req.query.id : '';
    if (!raw.trim() || raw.length > 64) {
      res.redirect(303, '/');
      return;
    }
    const query = normaliseRecordId(raw);
    const [correlations, rows] = await Promise.all([deps.store.findCorrelations(query), deps.store.timeline(query)]);
    // Job states are looked up once per distinct job (a record's rows share few jobs).
    const states = new Map<string, Promise<string>>();
    const stateOf = (queueName: string, id: string): Promise<string> => {
      const key = `${queueName}\u0000${id}`;
      if (!states.has(key)) {
        const queue = queueByName.get(queueName);
        states.set(key, queue ? queue.getJobState(id).catch(() => 'unknown') : Promise.resolve(''));
      }
      return states.get(key)!;
    };
    const views: TimelineRowView[] = await Promise.all(
      rows.map(async (r) => (r.queue && r.jobId ? { ...r, jobState: await stateOf(r.queue, r.jobId) } : r)),
    );
    const done = typeof req.query.done === 'string' ? req.query.done : '';
    const job = typeof req.query.job === 'string' ? req.query.job : '';
    const notice =
      done === 'replayed'
        ? `Job ${job} sent back to its queue for another attempt.`
        : done === 'resynced'
          ? `Re-sync requested: job ${job} queued on sf.fetch.`
          : undefined;
    pageHeaders(res);
    res.send(renderTimelinePage({ query, correlations, rows: views, csrfToken: csrf.tokenFor(req.principal!.name), notice }));
  });

  const actions = express.Router();
  actions.use(express.urlencoded({ extended: false, limit: '8kb' }));
  actions.use((req, res, next) => {
    if (!csrf.verify(req.principal!.name, field(req.body, '_csrf'))) {
      res.status(403).type('text/plain').send('missing or invalid CSRF token: reload the page and try again');
      return;
    }
    next();
  });
  const backTo = (req: Request, done: string, job: string) => {
    const id = field(req.body, 'returnTo');
    return id ? `/timeline?${new URLSearchParams({ id, done, job })}` : '/';
  };

  actions.post('/replay', async (req, res) => {
    const queueName = field(req.body, 'queue');
    const id = field(req.body, 'jobId');
    const job = await replayJob(queueByName, queueName, id);
    deps.logger.info({ queue: queueName, jobId: id, by: req.principal!.name }, 'job replayed from dashboard');
    const data = job.data as { connectionId?: string; sfId?: string; workOrderId?: number };
    if (data.connectionId) {
      await deps.store
        .recordStage({
          connectionId: data.connectionId,
          sfId: data.sfId ?? null,
          workOrderId: data.workOrderId ?? null,
          stage: 'replay-requested',
          outcome: 'ok',
          queue: queueName,
          jobId: id,
          message: `replayed from the dashboard by ${req.principal!.name}`,
        })
        .catch((err) => deps.logger.warn({ err }, 'could not record replay in the timeline'));
    }
    res.redirect(303, backTo(req, 'replayed', id));
  });

  actions.post('/resync', async (req, res) => {
    const connectionId = field(req.body, 'connectionId');
    const sfId = field(req.body, 'sfId');
    const correlation = connectionId && sfId ? await deps.store.getCorrelation({ connectionId, sfId }) : null;
    if (!correlation) throw new ActionError(404, `no correlation for ${sfId} in connection ${connectionId}`);
    const id = await resyncRecord(deps.fetchQueue, correlation);
    deps.logger.info({ connectionId, sfId, jobId: id, by: req.principal!.name }, 're-sync requested from dashboard');
    await deps.store
      .recordStage({
        connectionId,
        sfId,
        workOrderId: correlation.workOrderId,
        stage: 'resync-requested',
        outcome: 'ok',
        queue: deps.fetchQueue.name,
        jobId: id,
        message: `re-sync requested from the dashboard by ${req.principal!.name}`,
      })
      .catch((err) => deps.logger.warn({ err }, 'could not record re-sync in the timeline'));
    res.redirect(303, backTo(req, 'resynced', id));
  });
  // Read-only on both systems, but it spends Salesforce API calls: a POST behind auth and CSRF.
  actions.post('/test-connection', async (req, res) => {
    const connectionId = field(req.body, 'connectionId');
    if (!deps.preflight) throw new ActionError(404, 'no configuration: set BROKER_CONFIG or BROKER_CONFIG_SOURCE=database');
    const preflight = await deps.preflight().catch((err: Error) => {
      throw new ActionError(500, `the configuration does not load: ${err.message}`);
    });
    if (!preflight.connectionIds.includes(connectionId)) throw new ActionError(404, `no connection "${connectionId}" in the config`);
    const report = await preflight.run(connectionId);
    deps.logger.info(
      { connectionId, ok: report.ok, failed: report.checks.filter((c) => c.status === 'fail').map((c) => c.id), by: req.principal!.name },
      'connection tested from dashboard',
    );
    pageHeaders(res);
    res.send(renderPreflightPage(report));
  });
  app.use('/actions', actions);
  app.use(
    '/setup',
    setupRouter({
      service: deps.setup,
      csrf,
      env: deps.env ?? process.env,
      logger: deps.logger,
      eventQueue: queueByName.get('fn.event'),
    }),
  );

  app.use((_req, res) => void res.status(404).type('text/plain').send('not found'));

  app.use((err: Error & { status?: number }, req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof ActionError || err instanceof SetupError ? err.status : err.status && err.status < 500 ? err.status : 500;
    if (status >= 500) deps.logger.error({ err, path: req.path }, 'dashboard request failed');
    res.status(status);
    if (req.accepts(['html', 'json']) === 'html') {
      res.type('html').send(layout('Error', htmlError(status, err.message)));
    } else {
      res.json({ error: err.message });
    }
  });
  return app;
}

const htmlError = (status: number, message: string) =>
  html`<h1>Error ${status}</h1><p class="error" role="alert">${message}</p><p><a href="/">Back</a></p>`;

/** The connections with their buttons, or why the configuration does not load (the page still renders). */
async function connectionsOrError(preflight: NonNullable<DashboardDeps['preflight']>, csrfToken: string) {
  try {
    return connectionsSection((await preflight()).connectionIds, csrfToken);
  } catch (err) {
    return configErrorSection((err as Error).message);
  }
}
