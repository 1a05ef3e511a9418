import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

/**
 * Field Nation's published OpenAPI definitions are the contract: with `contractValidation` on, every
 * request to `/authentication` + `/api/rest/v2` (rest-v2.yaml) and `/api/v1/webhooks` (webhooks-v3.yaml)
 * and every JSON response the simulator sends there is checked by express-openapi-validator. A request
 * outside the contract is answered 400, a response outside it 500, both with the validator's detail, and
 * the violation is recorded (per simulator and process-wide, see `takeProcessContractViolations`).
 */
export interface ContractViolation {
  api: 'rest-v2' | 'webhooks-v3';
  /** `request`: what the caller sent breaks the contract; `response`: what the simulator answered does. */
  direction: 'request' | 'response';
  method: string;
  /** Path without the query string (the access token travels in it). */
  path: string;
  /** Status of the answer the violation produced (400, 404, 405, 415 or 500). */
  status: number;
  message: string;
  errors: Array<{ path: string; message: string }>;
  at: string;
}

const SPEC_FILES = { 'rest-v2': 'rest-v2.yaml', 'webhooks-v3': 'webhooks-v3.yaml' } as const;

/** The unchanged copies in apps/fieldnation-sim/openapi (see SOURCE.md there). */
export function contractSpecDir(): string {
  const candidates = [
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi'),
    // Bundled (dist/apps/fieldnation-sim/main.mjs): the checkout's copy.
    path.resolve(process.cwd(), 'apps/fieldnation-sim/openapi'),
  ];
  const dir = candidates.find((d) => existsSync(path.join(d, SPEC_FILES['rest-v2'])));
  if (!dir) throw new Error(`Field Nation OpenAPI files not found in ${candidates.join(' or ')}`);
  return dir;
}

/**
 * Formats the definitions use that are not JSON Schema formats (`timestamp` on dates the API renders
 * as "YYYY-MM-DD HH:MM:SS"): accepted as any string rather than reported as unknown.
 */
const EXTRA_FORMATS = { timestamp: () => true, float: () => true, double: () => true, int32: () => true, int64: () => true };

/**
 * Several collections (a work order's `routes`, `requests`, `declines`; MessageDto) declare
 * `results: array of string`, the generator's default for an untyped array, where the documented
 * examples and every client show objects: an object there is not held against the simulator.
 */
const untypedCollectionItem = (e: { errorCode?: string; path?: string; message?: string }) =>
  e.errorCode === 'type.openapi.validation' && /\/results\/\d+$/.test(e.path ?? '') && e.message === 'must be string';

const API_OF = (url: string): ContractViolation['api'] | undefined =>
  url.startsWith('/api/v1/webhooks')
    ? 'webhooks-v3'
    : url.startsWith('/api/rest/v2') || url.startsWith('/authentication/')
      ? 'rest-v2'
      : undefined;

/** Where multipart uploads are streamed to while they are checked (never held in memory). */
export const UPLOAD_DIR = path.join(os.tmpdir(), 'fn-sim-uploads');

// One validator per definition and process: compiling rest-v2.yaml (18,000 lines) takes about two
// seconds, and test files start several simulators.
const validators = new Map<ContractViolation['api'], RequestHandler[]>();

function validatorFor(api: ContractViolation['api']): RequestHandler[] {
  let handlers = validators.get(api);
  if (!handlers) {
    const prefix = api === 'webhooks-v3' ? /^\/api\/v1\/webhooks/ : /^\/(api\/rest\/v2|authentication)\//;
    handlers = OpenApiValidator.middleware({
      apiSpec: path.join(contractSpecDir(), SPEC_FILES[api]),
      validateApiSpec: false,
      validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
      validateResponses: {
        allErrors: true,
        // A status the operation does not list (401, 404, 429, 503... on most operations) leaves the
        // definition silent: the error body is then not checked (docs/simulator-fieldnation.md).
        onError: (
          err: Error & { status?: number; errors?: Array<{ errorCode?: string; path?: string; message?: string }> },
          _body: unknown,
          req: Request,
        ) => {
          const status = (req.res as Response | undefined)?.statusCode ?? 200;
          if (status >= 400 && /no schema defined for status code/.test(err.message)) return;
          // The response DTOs list every property as required (generated from the server's classes);
          // the simulator renders the subset it models. Leaving a field out cannot make the broker
          // depend on something Field Nation does not send, so only types, formats and enums count.
          const kept = (err.errors ?? []).filter((e) => e.errorCode !== 'required.openapi.validation' && !untypedCollectionItem(e));
          if (err.errors && kept.length === 0) return;
          if (err.errors && kept.length < err.errors.length) {
            err.errors = kept;
            err.message = kept.map((e) => `${e.path} ${e.message}`).join(', ');
          }
          throw err;
        },
      },
      // Security is the simulator's own check (it answers 401 in Field Nation's shapes).
      validateSecurity: false,
      // Undocumented operations are violations too; the other definition's paths are not this one's.
      ignoreUndocumented: false,
      ignorePaths: (p: string) => !prefix.test(p),
      formats: EXTRA_FORMATS,
      // Uploads (POST /workorders/{id}/attachments/{folder_id}) go to disk, as the route's own parser does.
      fileUploader: { dest: UPLOAD_DIR, limits: { fileSize: 2 * 1024 ** 3 } },
    }) as unknown as RequestHandler[];
    validators.set(api, handlers);
  }
  return handlers;
}

const PROCESS_KEY = Symbol.for('fieldnation-sim.contract-violations');
type ProcessRegistry = { violations: ContractViolation[] };
const processRegistry = (): ProcessRegistry => ((globalThis as Record<symbol, ProcessRegistry>)[PROCESS_KEY] ??= { violations: [] });

/** Every violation any simulator of this process recorded and nobody took; clears them. */
export function takeProcessContractViolations(): ContractViolation[] {
  return processRegistry().violations.splice(0);
}

export function formatViolation(v: ContractViolation): string {
  return `${v.direction} ${v.method} ${v.path} → ${v.status}: ${v.message}`;
}

/** The violations of one simulator; each is also in the process registry until taken. */
export class ContractRecorder {
  private readonly own: ContractViolation[] = [];

  record(v: ContractViolation): void {
    this.own.push(v);
    processRegistry().violations.push(v);
  }

  list(): ContractViolation[] {
    return [...this.own];
  }

  /** Hands the violations over (a test that sent a bad request on purpose) and forgets them here and process-wide. */
  take(): ContractViolation[] {
    const taken = this.own.splice(0);
    const registry = processRegistry();
    registry.violations = registry.violations.filter((v) => !taken.includes(v));
    return taken;
  }
}

interface ValidatorError {
  status?: number;
  message?: string;
  path?: string;
  errors?: Array<{ path?: string; message?: string }>;
}

/** An error thrown by the validator (request) or by its response hook (response). */
export function asContractViolation(err: unknown, req: Request): ContractViolation | undefined {
  const isValidatorError = Object.values(OpenApiValidator.error).some((E) => err instanceof E);
  const api = API_OF(req.originalUrl);
  if (!isValidatorError || !api) return undefined;
  const e = err as ValidatorError;
  const status = e.status ?? 500;
  return {
    api,
    direction: status >= 500 ? 'response' : 'request',
    method: req.method,
    path: req.originalUrl.split('?')[0]!,
    status,
    message: e.message ?? 'contract violation',
    errors: (e.errors ?? []).map((x) => ({ path: x.path ?? '', message: x.message ?? '' })),
    at: new Date().toISOString(),
  };
}

/**
 * The validator, mounted before the simulator's routes. It only observes: the query and body the
 * routes see are the ones that arrived (the validator coerces types in place, the routes parse their
 * own way, as Field Nation's server would).
 */
export function contractMiddleware(): RequestHandler[] {
  const keep: RequestHandler = (req, res, next) => {
    res.locals.rawQuery = { ...req.query };
    // The token parameter is declared by the security scheme (apiKey in query), which the validator
    // only consults when it checks security itself: it would call `access_token` unknown.
    const { access_token: _token, ...query } = req.query as Record<string, unknown>;
    Object.defineProperty(req, 'query', { value: query, configurable: true, enumerable: true, writable: true });
    res.locals.rawBody = req.body === undefined ? undefined : structuredClone(req.body);
    next();
  };
  const restore: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    // The validator pins req.query (not redefinable): put the raw values back into that object.
    const query = req.query as Record<string, unknown>;
    for (const key of Object.keys(query)) delete query[key];
    Object.assign(query, res.locals.rawQuery);
    if (res.locals.rawBody !== undefined) req.body = res.locals.rawBody;
    next();
  };
  // Each request meets one validator only: a second one would find the first one's req.openapi and
  // resolve its $refs in the wrong document.
  const rest = Router().use(validatorFor('rest-v2'));
  const webhooks = Router().use(validatorFor('webhooks-v3'));
  const dispatch: RequestHandler = (req, res, next) => {
    const api = API_OF(req.path);
    if (api === 'rest-v2') return rest(req, res, next);
    if (api === 'webhooks-v3') return webhooks(req, res, next);
    next();
  };
  return [keep, dispatch, restore];
}
