import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger, type Logger } from '@broker/runtime';
import { makeId, toId18 } from '@broker/salesforce';
import { oauthRouter, identityHandler } from './auth/oauth.routes';
import { SessionStore, type LoginFlow } from './auth/session-store';
import { soapRouter } from './auth/soap-login.routes';
import { controlRouter } from './control/control.routes';
import { FaultInjector, type Fault, type FaultDefinition } from './control/fault-injector';
import { Counters, type CountersSnapshot } from './core/counters';
import { SfError } from './core/sf-error';
import { VirtualClock } from './core/virtual-clock';
import { resolveOrg } from './org/org-loader';
import { OrgModel, type RecordData } from './org/org-model';
import type { FlowConfig, FlowDefinition, OrgConfig, OutboundMessageDefinition } from './org/org.schema';
import { seedRecords } from './org/org-seeder';
import { OrgStore } from './org/org-store';
import { Automation, type OutboundMessage } from './outbound/automation';
import { OutboundQueue, type DeliveryRecord, type NotificationStatus, type OutboundNotification } from './outbound/outbound-queue';
import { QueryCursors } from './rest/query-cursors';
import { restRouter } from './rest/rest.routes';
import { contentRouter, insertContentVersion, newBlobPath, removeContentBlobs, versionDataPath } from './rest/content.routes';
import type { SimContext, SimSettings } from './sim-context';
import type { SalesforceSimOptions } from './sim-options';
import { parseSoql } from './soql/soql-parser';
import { SoqlExecutor, type QueryResult } from './soql/soql-executor';

const HOUR = 3_600_000;

/** Path prefix under which the simulator plays the generic login host instead of the org's My Domain. */
export const LOGIN_HOST_PREFIX = '/__login-host';

function settingsFrom(o: SalesforceSimOptions): SimSettings {
  return {
    queryPageSize: o.queryPageSize ?? 2000,
    requireSecurityToken: o.requireSecurityToken ?? true,
    publicUrl: o.publicUrl,
    outboundRetryBaseMs: o.outboundRetryBaseMs ?? 60_000,
    outboundRetryMaxGapMs: o.outboundRetryMaxGapMs ?? 2 * HOUR,
    outboundMaxAgeMs: o.outboundMaxAgeMs ?? 24 * HOUR,
    outboundAttemptTimeoutMs: o.outboundAttemptTimeoutMs ?? 60_000,
    outboundConcurrency: o.outboundConcurrency ?? 1,
    outboundBatchSize: Math.min(100, Math.max(1, o.outboundBatchSize ?? 100)),
    jwtAudiences: o.jwtAudiences,
  };
}

function loadConfig(o: SalesforceSimOptions): OrgConfig {
  const vars: Record<string, string | undefined> = {
    ...process.env,
    ...(o.outboundUrl !== undefined ? { SF_SIM_OUTBOUND_URL: o.outboundUrl } : {}),
    ...(o.integrationUser?.username ? { SF_SIM_USERNAME: o.integrationUser.username } : {}),
    ...(o.integrationUser?.password ? { SF_SIM_PASSWORD: o.integrationUser.password } : {}),
    ...(o.integrationUser?.securityToken !== undefined ? { SF_SIM_SECURITY_TOKEN: o.integrationUser.securityToken } : {}),
    ...(o.connectedApp?.clientId ? { SF_SIM_CLIENT_ID: o.connectedApp.clientId } : {}),
    ...(o.connectedApp?.clientSecret ? { SF_SIM_CLIENT_SECRET: o.connectedApp.clientSecret } : {}),
  };
  const config = resolveOrg({ org: o.org, orgFile: o.orgFile, vars });
  if (o.dailyApiRequests) config.organization.dailyApiRequests = o.dailyApiRequests;
  if (o.sandbox !== undefined) config.organization.sandbox = o.sandbox;
  const app = config.connectedApps[0];
  if (app && o.connectedApp?.certificate) app.certificate = o.connectedApp.certificate;
  if (app && o.connectedApp?.refreshTokenOnPassword !== undefined) app.refreshTokenOnPassword = o.connectedApp.refreshTokenOnPassword;
  return config;
}

export interface RecordWriteOptions {
  /** Username of the acting user (system fields, flow conditions). */
  as?: string;
}

/** A running simulator with typed helpers mirroring the `/__sim` control API. */
export class SalesforceSim {
  url = '';
  private ctxRef!: SimContext;
  private server?: http.Server;

  constructor(
    private readonly options: SalesforceSimOptions,
    private readonly logger: Logger,
  ) {
    const start = options.clockStart === undefined ? Date.now() : new Date(options.clockStart).getTime();
    this.clock = new VirtualClock(options.timeFactor ?? 1, start);
    this.ctxRef = this.build();
  }

  readonly clock: VirtualClock;

  get ctx(): SimContext {
    return this.ctxRef;
  }

  private build(): SimContext {
    const config = loadConfig(this.options);
    const model = new OrgModel(config);
    const store = new OrgStore(model, this.clock);
    const refs = seedRecords(store, config, this.clock);
    const orgId = config.organization.id ? toId18(config.organization.id) : makeId('00D', 1);
    const ctx = {
      config,
      model,
      store,
      refs,
      orgId,
      orgId15: orgId.slice(0, 15),
      clock: this.clock,
      sessions: new SessionStore(this.clock, orgId.slice(0, 15), this.options.sessionTtlMs ?? 2 * HOUR),
      counters: new Counters(config.organization.dailyApiRequests),
      cursors: new QueryCursors(),
      faults: new FaultInjector(),
      settings: settingsFrom(this.options),
      logger: this.logger,
      baseUrl: () => this.options.publicUrl ?? this.url,
    } as SimContext;
    ctx.automation = new Automation(ctx);
    ctx.outbound = new OutboundQueue(ctx);
    for (const om of config.outboundMessages) ctx.automation.defineOutboundMessage(om);
    for (const flow of config.flows) ctx.automation.defineFlow(flow);
    if (config.metadata.length) ctx.automation.deployMetadata(config.metadata);
    store.onCommit((events) => ctx.automation.handle(events));
    return ctx;
  }

  async listen(): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const get = () => this.ctxRef;
    app.use('/__sim', controlRouter(this));
    app.use((req, res, next) => {
      // REST faults are applied in the REST router, after authentication and API counting.
      if (!req.path.startsWith('/services/') || req.path.startsWith('/services/data/')) return next();
      const fault = get().faults.take(req.method, req.path);
      if (!fault) return next();
      if (fault.hang) return; // a login that never answers
      const go = () => (fault.response ? res.status(fault.response.status).json(fault.response.body) : next());
      if (fault.latencyMs) setTimeout(go, fault.latencyMs);
      else go();
    });
    app.use('/services/Soap', soapRouter(get));
    app.use('/services/oauth2', oauthRouter(get));
    // The generic login host (login.salesforce.com, or test.salesforce.com for a sandbox) under a path
    // prefix, since a test reaches one address: the root is the org's My Domain.
    app.use(`${LOGIN_HOST_PREFIX}/services/Soap`, soapRouter(get));
    app.use(`${LOGIN_HOST_PREFIX}/services/oauth2`, oauthRouter(get, { loginHost: true }));
    app.use('/services/data', contentRouter(get));
    app.use('/services/data', restRouter(get));
    app.get('/id/:orgId/:userId', identityHandler(get));
    app.use((_req, res) => {
      res.status(404).json([{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    });
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      this.logger.error({ err }, 'unhandled simulator error');
      res.status(500).json([{ errorCode: 'UNKNOWN_EXCEPTION', message: (err as Error).message }]);
    });
    const server = http.createServer(app);
    this.server = server;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 3200, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async close(): Promise<void> {
    await this.ctxRef.outbound.close();
    removeContentBlobs(this.ctxRef);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Back to the org file's state: records, sessions, counters, faults, outbound queue (the clock keeps running). */
  async reset(): Promise<void> {
    const old = this.ctxRef;
    await old.outbound.close();
    removeContentBlobs(old);
    this.ctxRef = this.build();
  }

  // ---- records -------------------------------------------------------------------------------

  /** Id of a seeded record by its `_ref` name in the org file (e.g. `case_install`). */
  ref(name: string): string {
    const id = this.ctxRef.refs.get(name);
    if (!id) throw new Error(`no seeded record named ${name}`);
    return id;
  }

  refs(): Record<string, string> {
    return Object.fromEntries(this.ctxRef.refs);
  }

  actingUserId(username?: string): string {
    const ctx = this.ctxRef;
    const name =
      username ??
      this.options.defaultActingUser ??
      (ctx.store.findUser('dispatcher@example.com') ? 'dispatcher@example.com' : ctx.config.credentials[0]?.username);
    const user = name ? ctx.store.findUser(name) : undefined;
    if (!user) throw new SfError(400, 'INVALID_INPUT', `unknown user ${String(name)}`);
    return String(user.Id);
  }

  createRecord(object: string, fields: Record<string, unknown>, opts: RecordWriteOptions = {}): string {
    return this.ctxRef.store.create(object, fields, this.actingUserId(opts.as));
  }

  updateRecord(object: string, id: string, fields: Record<string, unknown>, opts: RecordWriteOptions = {}): void {
    this.ctxRef.store.update(object, id, fields, this.actingUserId(opts.as));
  }

  deleteRecord(object: string, id: string, opts: RecordWriteOptions = {}): void {
    this.ctxRef.store.remove(object, id, this.actingUserId(opts.as));
  }

  /**
   * A Salesforce user attaches a file to a record (the Files related list): a ContentVersion with the
   * record as FirstPublishLocationId, its ContentDocument and the ContentDocumentLink. `path` is moved
   * into the simulator; `content` is written there. Not an API call.
   */
  attachFile(
    recordId: string,
    file: { name: string; content?: Buffer | string; path?: string; title?: string; description?: string },
    opts: RecordWriteOptions = {},
  ): { contentVersionId: string; contentDocumentId: string } {
    const ctx = this.ctxRef;
    const blob = newBlobPath(ctx);
    if (file.path) {
      copyFileSync(file.path, blob);
      rmSync(file.path, { force: true });
    } else writeFileSync(blob, file.content ?? '');
    const entity: Record<string, unknown> = { PathOnClient: file.name, FirstPublishLocationId: recordId };
    if (file.title) entity.Title = file.title;
    if (file.description) entity.Description = file.description;
    const contentVersionId = insertContentVersion(ctx, entity, blob, this.actingUserId(opts.as));
    return { contentVersionId, contentDocumentId: String(ctx.store.get(contentVersionId)!.record.ContentDocumentId) };
  }

  /** The files shared with a record (through ContentDocumentLink), each latest version with where its bytes are. */
  filesOf(recordId: string): Array<{
    contentVersionId: string;
    contentDocumentId: string;
    title: string;
    pathOnClient: string;
    description: string | null;
    size: number;
    createdById: string;
    path: string;
  }> {
    const ctx = this.ctxRef;
    const id = String(ctx.store.get(recordId)?.record.Id ?? recordId);
    const links = ctx.store.all(ctx.store.objectOrThrow('ContentDocumentLink')).filter((l) => l.LinkedEntityId === id);
    const versions = ctx.store.all(ctx.store.objectOrThrow('ContentVersion'));
    return links.flatMap((l) =>
      versions
        .filter((v) => v.ContentDocumentId === l.ContentDocumentId && v.IsLatest)
        .map((v) => ({
          contentVersionId: String(v.Id),
          contentDocumentId: String(v.ContentDocumentId),
          title: String(v.Title),
          pathOnClient: String(v.PathOnClient),
          description: (v.Description as string | null) ?? null,
          size: Number(v.ContentSize),
          createdById: String(v.CreatedById),
          path: versionDataPath(ctx, String(v.Id)) ?? '',
        })),
    );
  }

  getRecord(id: string): RecordData | undefined {
    const found = this.ctxRef.store.get(id);
    return found ? { ...found.record } : undefined;
  }

  /** Run SOQL in-process (not counted as an API call). */
  query(soql: string, opts: { includeDeleted?: boolean } = {}): QueryResult {
    return new SoqlExecutor(this.ctxRef.store).execute(parseSoql(soql), {
      includeDeleted: opts.includeDeleted ?? false,
      version: '62.0',
      now: this.clock.now(),
    });
  }

  // ---- automation ----------------------------------------------------------------------------

  defineOutboundMessage(def: OutboundMessageDefinition): OutboundMessage {
    return this.ctxRef.automation.defineOutboundMessage(def);
  }

  /** Deploy generated Metadata API files (Outbound Messages and Flows) into the running org. */
  deployMetadata(files: { path: string; content: string }[]): { outboundMessages: string[]; flows: string[] } {
    return this.ctxRef.automation.deployMetadata(files);
  }

  defineFlow(def: FlowDefinition): FlowConfig {
    return this.ctxRef.automation.defineFlow(def);
  }

  removeFlow(name: string): boolean {
    return this.ctxRef.automation.removeFlow(name);
  }

  removeOutboundMessage(name: string): boolean {
    return this.ctxRef.automation.removeOutboundMessage(name);
  }

  /** Point an existing Outbound Message (e.g. the default org's) at a listener. */
  setOutboundEndpoint(name: string, endpointUrl: string): OutboundMessage {
    const om = this.ctxRef.automation.outboundMessage(name);
    if (!om) throw new Error(`no outbound message ${name}`);
    return this.ctxRef.automation.defineOutboundMessage({ ...om, endpointUrl });
  }

  outboundMessages(): OutboundMessage[] {
    return this.ctxRef.automation.outboundMessages();
  }

  flows(): FlowConfig[] {
    return this.ctxRef.automation.listFlows();
  }

  // ---- outbound queue ------------------------------------------------------------------------

  outbound(filter: { status?: NotificationStatus; outboundMessage?: string } = {}): OutboundNotification[] {
    return this.ctxRef.outbound.list(filter);
  }

  deliveries(): DeliveryRecord[] {
    return this.ctxRef.outbound.deliveryLog();
  }

  /** Send everything pending now (retries included) and wait for the POSTs to finish. */
  flushOutbound(): Promise<void> {
    return this.ctxRef.outbound.flush();
  }

  /** Wait until nothing is due or in flight (does not make retries due). */
  outboundIdle(): Promise<void> {
    return this.ctxRef.outbound.idle();
  }

  dropOutbound(ids?: string[]): number {
    return this.ctxRef.outbound.drop(ids);
  }

  // ---- clock, sessions, limits, counters, faults --------------------------------------------

  /** Move virtual time forward; due retries and drops run, then the promise resolves when idle. */
  async advanceClock(ms: number): Promise<number> {
    const now = this.clock.advance(ms);
    await this.ctxRef.outbound.idle();
    return now;
  }

  now(): number {
    return this.clock.now();
  }

  expireSessions(filter: { token?: string; username?: string } = {}): number {
    return this.ctxRef.sessions.expire(filter);
  }

  /** A refresh token for the refresh_token grant (as if the user had authorised the app). */
  issueRefreshToken(username: string, clientId?: string): string {
    const ctx = this.ctxRef;
    const user = ctx.store.findUser(username);
    if (!user) throw new Error(`unknown user ${username}`);
    return ctx.sessions.issueRefreshToken(String(user.Id), String(user.Username), clientId ?? ctx.config.connectedApps[0]?.clientId ?? '');
  }

  setApiUsage(usage: { used?: number; max?: number }): CountersSnapshot['apiUsage'] {
    const c = this.ctxRef.counters;
    if (usage.used !== undefined) c.used = usage.used;
    if (usage.max !== undefined) c.max = usage.max;
    return { used: c.used, max: c.max };
  }

  counters(): CountersSnapshot {
    return this.ctxRef.counters.snapshot();
  }

  loginCount(flow?: LoginFlow): number {
    const s = this.counters().logins;
    return flow ? (s.byFlow[flow] ?? 0) : s.total;
  }

  resetCounters(): void {
    this.ctxRef.counters.resetCounts();
  }

  injectFault(def: FaultDefinition): Fault {
    return this.ctxRef.faults.add(def);
  }

  /** Injected faults with their match and apply counts (`GET /__sim/faults`). */
  faults(): Fault[] {
    return this.ctxRef.faults.list();
  }

  clearFaults(id?: string): void {
    this.ctxRef.faults.remove(id);
  }
}

/** Start a simulator listening on HTTP. */
export async function startSalesforceSim(options: SalesforceSimOptions = {}): Promise<SalesforceSim> {
  const logger = options.logger ?? createLogger({ service: 'salesforce-sim', level: process.env.LOG_LEVEL ?? 'warn' });
  const sim = new SalesforceSim(options, logger);
  await sim.listen();
  return sim;
}
