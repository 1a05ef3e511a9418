export type FieldNationErrorKind =
  'network' | 'timeout' | 'auth' | 'bad_request' | 'validation' | 'forbidden' | 'not_found' | 'rate_limited' | 'server' | 'http';

export interface FieldNationFieldError {
  field: string;
  message: string;
}

export interface FieldNationErrorInit {
  kind: FieldNationErrorKind;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  method: string;
  route: string;
  retryable: boolean;
  retryAfterMs?: number;
  fieldErrors?: FieldNationFieldError[];
  body?: unknown;
  attempts?: number;
  /** True when the request may have taken effect (timeout or 5xx on a non-idempotent call). */
  ambiguous?: boolean;
  cause?: unknown;
}

/**
 * Every failure of the client. Classify by `retryable` / `kind`, never by message text: a worker
 * rethrows retryable ones for BullMQ to back off (honouring `retryAfterMs`) and fails the rest.
 */
export class FieldNationError extends Error {
  readonly kind: FieldNationErrorKind;
  readonly status: number;
  readonly method: string;
  readonly route: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly fieldErrors: FieldNationFieldError[];
  readonly body?: unknown;
  readonly ambiguous: boolean;
  attempts: number;

  constructor(message: string, init: FieldNationErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'FieldNationError';
    this.kind = init.kind;
    this.status = init.status;
    this.method = init.method;
    this.route = init.route;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.fieldErrors = init.fieldErrors ?? [];
    this.body = init.body;
    this.attempts = init.attempts ?? 1;
    this.ambiguous = init.ambiguous ?? false;
  }

  /** Validation messages as `field: message` strings. */
  get validationMessages(): string[] {
    return this.fieldErrors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  }
}

/** `Retry-After` as delta-seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function kindOf(status: number): FieldNationErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 422) return 'validation';
  if (status === 400) return 'bad_request';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'http';
}

/** Field errors from the three documented error shapes (reference §11) and the OAuth one. */
function fieldErrorsOf(body: unknown): FieldNationFieldError[] {
  if (!body || typeof body !== 'object') return [];
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.errors)) {
    return b.errors.flatMap((e): FieldNationFieldError[] => {
      if (!e || typeof e !== 'object') return typeof e === 'string' ? [{ field: '', message: e }] : [];
      const x = e as Record<string, unknown>;
      const message = String(x.message ?? x.detail ?? '');
      const field = String(x.field ?? x.pointer ?? x.parameter ?? '')
        .replace(/^\//, '')
        .replaceAll('/', '.');
      return message ? [{ field, message }] : [];
    });
  }
  return [];
}

function messageOf(body: unknown, fallback: string): string {
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  if (!body || typeof body !== 'object') return fallback;
  const b = body as Record<string, unknown>;
  const first =
    Array.isArray(b.errors) && b.errors[0] && typeof b.errors[0] === 'object'
      ? (b.errors[0] as Record<string, unknown>).message
      : undefined;
  const text = b.message ?? b.detail ?? b.error_description ?? first ?? b.error ?? b.title;
  return typeof text === 'string' && text ? text : fallback;
}

export function errorFromResponse(
  res: { status: number; headers: { get(name: string): string | null } },
  body: unknown,
  ctx: { method: string; route: string; idempotent: boolean },
): FieldNationError {
  const status = res.status;
  const kind = kindOf(status);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  const serverSide = status >= 500 || status === 408;
  const retryable = status === 429 || serverSide;
  const fieldErrors = fieldErrorsOf(body);
  const base = messageOf(body, `HTTP ${status}`);
  return new FieldNationError(`Field Nation ${ctx.method} ${ctx.route} failed with ${status}: ${base}`, {
    kind,
    status,
    method: ctx.method,
    route: ctx.route,
    retryable,
    retryAfterMs,
    fieldErrors: kind === 'validation' || kind === 'bad_request' ? fieldErrors : [],
    body,
    ambiguous: serverSide && !ctx.idempotent,
  });
}
