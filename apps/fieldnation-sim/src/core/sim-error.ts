import type { Response } from 'express';

export interface FieldError {
  field: string;
  message: string;
}

/** An error a handler throws to answer with a Field Nation-shaped error body. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'SimError';
  }
}

export const notFound = (what: string, id: unknown) => new SimError(404, `${what} ${String(id)} not found`);

const PROBLEM_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'AUTHENTICATION_REQUIRED',
  403: 'INSUFFICIENT_PERMISSIONS',
  404: 'RESOURCE_NOT_FOUND',
  409: 'CONFLICT',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMIT_EXCEEDED',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** REST v2 error: `{status, message, errors}` (OAS-R DefaultResponseErrorDto) or RFC 9457 problem+json. */
export function sendRestError(res: Response, err: SimError, format: 'legacy' | 'problem'): void {
  res.set(err.headers);
  if (format === 'problem') {
    const code = PROBLEM_CODES[err.status] ?? 'ERROR';
    res
      .status(err.status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: `https://developer.fieldnation.com/error-codes/${code.toLowerCase().replaceAll('_', '-')}`,
          title: code,
          status: err.status,
          detail: err.message,
          code,
          retryable: err.status === 429 || err.status >= 500,
          correlationId: crypto.randomUUID(),
          errors: err.errors.map((e) => ({ detail: e.message, pointer: `/${e.field.replaceAll('.', '/')}` })),
        }),
      );
    return;
  }
  res.status(err.status).json({ status: err.status, message: err.message, errors: err.errors });
}

/** Webhooks v3 management API error envelope (OAS-W ErrorResponse). */
export function sendWebhookApiError(res: Response, err: SimError, path: string): void {
  res.set(err.headers);
  res.status(err.status).json({
    metadata: { timestamp: new Date().toISOString(), path },
    errors: [
      { code: err.status, message: err.message },
      ...err.errors.map((e) => ({ code: err.status, message: `${e.field}: ${e.message}` })),
    ],
    result: {},
  });
}
