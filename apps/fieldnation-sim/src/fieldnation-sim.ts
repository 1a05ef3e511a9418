import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLogger, type Logger } from '@broker/runtime';
import { oauthRouter } from './auth/oauth.routes';
import { TokenStore } from './auth/token-store';
import { Counters, normaliseRoute } from './core/counters';
import { FaultInjector } from './core/fault-injector';
import { RateLimiter } from './core/rate-limiter';
import { SimError, sendRestError, sendWebhookApiError } from './core/sim-error';
import {
  ContractRecorder,
  asContractViolation,
  contractMiddleware,
  formatViolation,
  type ContractViolation,
} from './contract/contract-check';
import { controlRouter } from './control/control.routes';
import { SimControl } from './control/sim-control';
import { resolveOptions, type FieldNationSimOptions, type ResolvedSimOptions, type SimCredentials } from './sim-options';
import { WebhookRegistry } from './webhooks/webhook-registry';
import { WebhookSender } from './webhooks/webhook-sender';
import { webhookErrorPath, webhookRouter } from './webhooks/webhook.routes';
import { findUser } from './work-orders/catalogue';
import { lookupRouter } from './work-orders/lookup.routes';
import { WorkOrderService } from './work-orders/work-order.service';
import { workOrderRouter } from './work-orders/work-order.routes';
import { AttachmentStore } from './work-orders/attachments';
import { attachmentRouter, downloadRouter } from './work-orders/attachment.routes';

/** A running simulator: the HTTP server plus typed in-process helpers mirroring `/__sim`. */
export class FieldNationSim extends SimControl {
  /** Origin, e.g. `http://127.0.0.1:3300` (what the client takes as an explicit base URL). */
  readonly url: string;
  /** `${url}/api/rest/v2` */
  readonly restUrl: string;
  /** `${url}/authentication/api/oauth/token` */
  readonly tokenUrl: string;
  readonly credentials: SimCredentials;
  readonly options: ResolvedSimOptions;
  private readonly closeServer: () => Promise<void>;
  private readonly contract: ContractRecorder;

  constructor(init: {
    url: string;
    options: ResolvedSimOptions;
    control: ConstructorParameters<typeof SimControl>[0];
    contract: ContractRecorder;
    close: () => Promise<void>;
  }) {
    super(init.control);
    this.contract = init.contract;
    this.url = init.url;
    this.restUrl = `${init.url}/api/rest/v2`;
    this.tokenUrl = `${init.url}/authentication/api/oauth/token`;
    this.credentials = init.options.credentials;
    this.options = init.options;
    this.closeServer = init.close;
  }

  close(): Promise<void> {
    return this.closeServer();
  }

  /** Requests and responses of this simulator that broke Field Nation's OpenAPI definitions so far. */
  contractViolations(): ContractViolation[] {
    return this.contract.list();
  }

  /**
   * Takes this simulator's violations out of the process-wide list the test setup checks after each
   * file: for tests that send an off-contract request on purpose (and should assert on what they get).
   */
  takeContractViolations(): ContractViolation[] {
    return this.contract.take();
  }
}

const isWebhookApi = (req: Request) => req.originalUrl.startsWith('/api/v1/webhooks');

function bearerOrQueryToken(req: Request): string | undefined {
  const query = req.query.access_token;
  if (typeof query === 'string' && query) return query;
  const auth = req.headers.authorization;
  const match = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return match?.[1];
}

/** Start the simulator on `options.port` (0 = any free port). */
export async function startFieldNationSim(input: FieldNationSimOptions = {}): Promise<FieldNationSim> {
  const options = resolveOptions(input);
  const logger: Logger = input.logger ?? createLogger({ service: 'fieldnation-sim' });
  const state = { timeFactor: options.timeFactor, baseUrl: '' };
  const counters = new Counters();
  const faults = new FaultInjector();
  const tokens = new TokenStore(options.tokenTtlSeconds);
  const rateLimiter = new RateLimiter(options.rateLimit);
  const registry = new WebhookRegistry();
  const sender = new WebhookSender({ registry, options: () => options.webhooks, timeFactor: () => state.timeFactor, logger });
  const service = new WorkOrderService({
    firstWorkOrderId: options.firstWorkOrderId,
    validationStatus: options.validationStatus,
    requirePublishFields: options.requirePublishFields,
    baseUrl: () => state.baseUrl,
    emit: (batch) => sender.publish(batch),
  });
  const attachments = new AttachmentStore({
    service,
    emit: (batch) => sender.publish(batch),
    baseUrl: () => state.baseUrl,
    maxBytes: () => options.attachmentMaxBytes,
  });

  const renderError = (req: Request, res: Response, err: SimError) => {
    if (isWebhookApi(req)) return sendWebhookApiError(res, err, webhookErrorPath(req));
    if (req.originalUrl.startsWith('/authentication/')) {
      const error = err.status >= 500 ? 'server_error' : err.status === 429 ? 'temporarily_unavailable' : 'invalid_request';
      res.set(err.headers).status(err.status).json({ error, error_description: err.message });
      return;
    }
    sendRestError(res, err, options.errorFormat);
  };

  const contract = new ContractRecorder();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const route = normaliseRoute(req.method, req.path);
    if (!req.path.startsWith('/__sim')) {
      let recorded = false;
      const record = (status: number) => {
        if (!recorded) counters.record(route, status);
        recorded = true;
      };
      res.on('finish', () => record(res.statusCode));
      res.on('close', () => record(res.writableFinished ? res.statusCode : 0));
    }
    next();
  });
  app.use(
    faults.middleware((res, status, message, headers) => {
      const req = res.req;
      renderError(req, res, new SimError(status, message, [], headers));
    }),
  );

  if (options.contractValidation) {
    // The JSON body must be parsed before the validator reads it; the routes' own parsers then skip.
    app.use(['/authentication', '/api/rest/v2', '/api/v1/webhooks'], express.json({ limit: '5mb' }));
    app.use(contractMiddleware());
  }

  app.use(oauthRouter({ tokens, credentials: () => options.credentials, allowClientCredentials: options.allowClientCredentials }));

  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    const token = bearerOrQueryToken(req);
    const challenge = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
    if (!token) throw new SimError(401, 'An access token is required', [], { 'WWW-Authenticate': 'Bearer' });
    const issued = tokens.verify(token);
    if (issued === 'expired') throw new SimError(401, 'The access token has expired', [], challenge);
    if (!issued) throw new SimError(401, 'The access token is invalid', [], challenge);
    res.locals.user = findUser(issued.userId);
    // Per user (≈ per company) rather than per token, so re-authenticating does not reset the bucket [I].
    const limit = rateLimiter.take(`user:${issued.userId}`);
    const limits = rateLimiter.limits;
    if (!limit.ok) {
      throw new SimError(429, 'Rate limit exceeded. Retry after the number of seconds in Retry-After.', [], {
        'Retry-After': String(limit.retryAfterSeconds),
        'X-RateLimit-Limit': String(limits ? limits.perMinute : 0),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + limit.retryAfterSeconds),
      });
    }
    if (limits) res.set({ 'X-RateLimit-Limit': String(limits.perMinute), 'X-RateLimit-Remaining': String(limit.remaining) });
    next();
  };

  const json = express.json({ limit: '5mb' });
  app.use('/api/rest/v2', json, authenticate);
  app.use('/api/rest/v2/workorders', attachmentRouter({ service, attachments, validationStatus: () => options.validationStatus }));
  app.use('/api/rest/v2/workorders', workOrderRouter({ service, validationStatus: () => options.validationStatus }));
  app.use('/downloads', downloadRouter(attachments));
  app.use('/api/rest/v2', lookupRouter());
  app.use('/api/v1/webhooks', authenticate, webhookRouter({ registry, sender, options: () => options.webhooks }));

  const control = new SimControl({ service, attachments, registry, sender, faults, counters, tokens, rateLimiter, state });
  app.use(
    '/__sim',
    controlRouter(control, () => options.webhooks),
  );

  app.use((req: Request, res: Response) => {
    renderError(req, res, new SimError(404, `No route for ${req.method} ${req.path}`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    // The client went away mid-request (a writer killed during an upload): no answer can reach it,
    // and an unfinished body breaks no contract.
    if (req.socket.destroyed) {
      res.destroy();
      return;
    }
    const violation = asContractViolation(err, req);
    if (violation) {
      contract.record(violation);
      logger.error({ violation }, `Field Nation contract violation: ${formatViolation(violation)}`);
      const what = violation.direction === 'request' ? 'The request does not match' : "The simulator's response does not match";
      const detail = `${what} Field Nation's OpenAPI definition (${violation.api}): ${violation.message}`;
      return renderError(
        req,
        res,
        new SimError(
          violation.status,
          detail,
          violation.errors.map((e) => ({ field: e.path, message: e.message })),
        ),
      );
    }
    if (err instanceof SimError) return renderError(req, res, err);
    const status = (err as { status?: number; type?: string }).status;
    if ((err as { type?: string }).type === 'entity.parse.failed') return renderError(req, res, new SimError(400, 'Malformed JSON body'));
    if (status && status >= 400 && status < 500) return renderError(req, res, new SimError(status, (err as Error).message));
    logger.error({ err }, 'unhandled simulator error');
    renderError(req, res, new SimError(500, 'Internal server error'));
  });
  // An error body the handler above rendered can itself break the contract: plain 500, no second check.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const violation = asContractViolation(err, req);
    if (violation) {
      contract.record(violation);
      logger.error({ violation }, `Field Nation contract violation: ${formatViolation(violation)}`);
    } else logger.error({ err }, 'unhandled simulator error while answering an error');
    if (res.headersSent) return;
    res
      .status(500)
      .type('application/json')
      .send(
        JSON.stringify({
          status: 500,
          message: violation
            ? `The simulator's error response does not match Field Nation's OpenAPI definition: ${violation.message}`
            : 'Internal server error',
        }),
      );
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  state.baseUrl = `http://${host}:${address.port}`;
  logger.info({ url: state.baseUrl }, 'Field Nation simulator listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      sender.close();
      faults.releaseAll();
      attachments.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }));

  return new FieldNationSim({
    url: state.baseUrl,
    options,
    control: { service, attachments, registry, sender, faults, counters, tokens, rateLimiter, state },
    contract,
    close,
  });
}
