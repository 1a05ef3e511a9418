/** The services a job can wait for: an outage of one of them delays jobs, it never fails them. */
export const DEPENDENCIES = ['postgres', 'redis', 'salesforce', 'fieldnation'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** Human names for log lines and the timeline. */
export const DEPENDENCY_NAMES: Record<Dependency | 'unknown', string> = {
  postgres: 'PostgreSQL',
  redis: 'Redis',
  salesforce: 'Salesforce',
  fieldnation: 'Field Nation',
  unknown: 'a network dependency',
};

export interface InfrastructureFailure {
  /** Which service; `unknown` for a bare socket error nothing attributes (still waited for). */
  dependency: Dependency | 'unknown';
  /** `unreachable`: no connection; `timeout`: no answer in time; `unavailable`: it answered "not now" (502/503/504, 57P03). */
  kind: 'unreachable' | 'timeout' | 'unavailable';
  /** The code that decided it (ECONNREFUSED, 57P01, P1001, HTTP_503, ...): bounded, safe for logs and labels. */
  code: string;
}

const isDependency = (v: unknown): v is Dependency => typeof v === 'string' && (DEPENDENCIES as readonly string[]).includes(v);

/**
 * A call to a dependency got no answer in time. HTTP clients throw it (or an error with it as
 * `cause`) so that every worker waits for the service instead of spending the job's attempts;
 * `phase` says whether the connection was never established (the request was not sent, so even a
 * create may be resent) or the answer did not come.
 */
export class DependencyTimeoutError extends Error {
  readonly dependency: Dependency;
  readonly phase: 'connect' | 'total';
  readonly timeoutMs: number;
  constructor(dependency: Dependency, message: string, options: { phase: 'connect' | 'total'; timeoutMs: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DependencyTimeoutError';
    this.dependency = dependency;
    this.phase = options.phase;
    this.timeoutMs = options.timeoutMs;
  }
}

/** A dependency could not be reached or said it is unavailable; `cause` keeps the original error. */
export class DependencyUnavailableError extends Error {
  readonly dependency: Dependency;
  constructor(dependency: Dependency, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
  }
}

/** Node socket and DNS failures: nothing answered (or the answer was cut off). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'ESOCKETTIMEDOUT',
  'ETIMEDOUT',
]);
/** undici's (fetch's) transport failures; its argument and usage errors (UND_ERR_INVALID_ARG...) are bugs, not outages. */
const UNDICI_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
/** Prisma: database unreachable (P1001), timed out (P1002, P1008), connection closed (P1017), pool timeout (P2024). */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** Prisma driver-adapter kinds behind a P-code it does not map. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/**
 * pg and pg-pool throw these without a code; they are pg's own fixed texts, matched whole (the
 * one place a message decides, because pg gives nothing else to go on).
 */
const PG_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);
/** ioredis' fixed texts for a closed connection or a refused offline queue (fail-fast producer connections). */
const REDIS_MESSAGES = new Set(['Connection is closed.', "Stream isn't writeable and enableOfflineQueue options is false"]);
const SALESFORCE_UNAVAILABLE = new Set(['SERVER_UNAVAILABLE', 'ERROR_HTTP_502', 'ERROR_HTTP_503', 'ERROR_HTTP_504']);
const GATEWAY_STATUSES = new Set([502, 503, 504]);

type Loose = Error & Record<string, unknown>;

/** The error, its `cause` chain and an AggregateError's members (Node's happy-eyeballs connect throws one). */
function chainOf(err: unknown): Loose[] {
  const out: Loose[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || seen.has(e) || depth > 8) return;
    seen.add(e);
    out.push(e as Loose);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const x of errors.slice(0, 8)) visit(x, depth + 1);
    visit((e as { cause?: unknown }).cause, depth + 1);
  };
  visit(err, 0);
  return out;
}

/** Which service an error in the chain speaks for, by type (outermost wins: a client error wraps the socket's). */
function attribute(e: Loose): Dependency | undefined {
  if (isDependency(e.dependency)) return e.dependency;
  if (e.name === 'FieldNationError') return 'fieldnation';
  if (e.name === 'SalesforceApiError' || (typeof e.errorCode === 'string' && e.errorCode.startsWith('ERROR_HTTP_'))) return 'salesforce';
  if (typeof e.name === 'string' && e.name.startsWith('PrismaClient')) return 'postgres';
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ReplyError') return 'redis';
  if (typeof e.message === 'string' && PG_MESSAGES.has(e.message)) return 'postgres';
  if (typeof e.message === 'string' && REDIS_MESSAGES.has(e.message)) return 'redis';
  // A SQLSTATE (five characters) comes only from PostgreSQL.
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && /^(08|57P|53)/.test(e.code)) return 'postgres';
  // A bare socket error: pg-pool and ioredis are where it surfaced.
  if (typeof e.stack === 'string') {
    if (/[\\/]node_modules[\\/](pg|pg-pool)[\\/]/.test(e.stack)) return 'postgres';
    if (/[\\/]node_modules[\\/]ioredis[\\/]/.test(e.stack)) return 'redis';
  }
  return undefined;
}

/** Whether one error of the chain is an outage, and of what kind. */
function outageOf(e: Loose): Omit<InfrastructureFailure, 'dependency'> | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'DependencyTimeoutError') return { kind: 'timeout', code: `timeout-${String(e.phase ?? 'total')}` };
  if (e.name === 'DependencyUnavailableError') return { kind: 'unavailable', code: 'unavailable' };
  if (code && NETWORK_CODES.has(code))
    return { kind: code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' ? 'timeout' : 'unreachable', code };
  if (code && UNDICI_CODES.has(code)) return { kind: code.endsWith('TIMEOUT') ? 'timeout' : 'unreachable', code };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', code: e.name };
  if (e.name === 'MaxRetriesPerRequestError') return { kind: 'unreachable', code: e.name };
  if (code && /^[0-9A-Z]{5}$/.test(code) && (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)))
    return { kind: 'unavailable', code };
  if (typeof e.name === 'string' && e.name.startsWith('PrismaClient')) {
    const pcode = code ?? (typeof e.errorCode === 'string' ? e.errorCode : undefined);
    if (pcode && PRISMA_CODES.has(pcode))
      return { kind: pcode === 'P1002' || pcode === 'P1008' || pcode === 'P2024' ? 'timeout' : 'unreachable', code: pcode };
    const kind = (e.meta as { driverAdapterError?: { cause?: { kind?: unknown } } } | undefined)?.driverAdapterError?.cause?.kind;
    if (typeof kind === 'string' && ADAPTER_KINDS.has(kind))
      return { kind: kind === 'SocketTimeout' ? 'timeout' : 'unreachable', code: kind };
  }
  if (typeof e.message === 'string' && (PG_MESSAGES.has(e.message) || REDIS_MESSAGES.has(e.message)))
    return { kind: 'unreachable', code: 'connection-closed' };
  if (e.name === 'FieldNationError') {
    if (e.kind === 'timeout') return { kind: 'timeout', code: 'timeout' };
    if (e.kind === 'network') return { kind: 'unreachable', code: 'network' };
  }
  if (e.name === 'SalesforceApiError' || typeof e.errorCode === 'string') {
    const ec = e.errorCode as string | undefined;
    if (ec && SALESFORCE_UNAVAILABLE.has(ec)) return { kind: 'unavailable', code: ec };
    if (ec && (NETWORK_CODES.has(ec) || UNDICI_CODES.has(ec)))
      return { kind: ec.includes('TIMEOUT') || ec === 'ETIMEDOUT' ? 'timeout' : 'unreachable', code: ec };
  }
  // 502/503/504 from an HTTP client error that says whose answer it is (status or jsforce's statusCode).
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && GATEWAY_STATUSES.has(status) && attribute(e)) return { kind: 'unavailable', code: `HTTP_${status}` };
  return undefined;
}

/**
 * The one place that tells an outage (Redis, PostgreSQL, Salesforce or Field Nation unreachable,
 * timing out or answering 502/503/504) from an answer about the record. `undefined` means "not an
 * outage": the job's attempts decide. A permanent error (UnrecoverableError) is never an outage,
 * whatever its cause: the processor has decided.
 */
export function classifyInfrastructureError(err: unknown): InfrastructureFailure | undefined {
  if (!err || typeof err !== 'object') return undefined;
  if ((err as Error).name === 'UnrecoverableError' || (err as Error).name === 'DelayedError') return undefined;
  const chain = chainOf(err);
  let outage: Omit<InfrastructureFailure, 'dependency'> | undefined;
  let dependency: Dependency | undefined;
  for (const e of chain) {
    outage ??= outageOf(e);
    dependency ??= attribute(e);
    if (outage && dependency) break;
  }
  if (!outage) return undefined;
  return { dependency: dependency ?? 'unknown', ...outage };
}
