import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const faultSchema = z.object({
  /**
   * What to do: a Salesforce error, a bare 5xx, extra latency before the normal answer, or HANG:
   * accept the request and never answer it (the connection stays open until the client gives up
   * or the simulator closes), as a stuck endpoint behind a load balancer does. LOST_RESPONSE: carry
   * the request out (the save commits) and then close the connection without an answer, as when a
   * network path or the client dies after Salesforce saved: the client cannot tell it was saved.
   */
  kind: z.enum(['UNABLE_TO_LOCK_ROW', 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'HTTP_5XX', 'LATENCY', 'ERROR', 'HANG', 'LOST_RESPONSE']),
  /** HTTP method to match (any when absent). */
  method: z.string().optional(),
  /** Regular expression tested against the request path (e.g. `/sobjects/Case/`). Any when absent. */
  path: z.string().optional(),
  /** How many matching requests to affect; 0 = until removed. Default 1. */
  count: z.number().int().nonnegative().default(1),
  /** Let this many matching requests through first. */
  skip: z.number().int().nonnegative().default(0),
  /** For FIELD_CUSTOM_VALIDATION_EXCEPTION / ERROR. */
  message: z.string().optional(),
  fields: z.array(z.string()).optional(),
  /** For ERROR: the errorCode to report. */
  errorCode: z.string().optional(),
  /** For HTTP_5XX (default 503) and ERROR (default 400). */
  status: z.number().int().min(400).max(599).optional(),
  /** For LATENCY (wall-clock ms). */
  latencyMs: z.number().int().nonnegative().optional(),
  /** The fault stops matching this long (wall-clock ms) after it was injected; absent = until `count` is used up or it is removed. */
  durationMs: z.number().int().positive().optional(),
});
export type FaultDefinition = z.input<typeof faultSchema>;
export type Fault = z.output<typeof faultSchema> & { id: string; matched: number; applied: number; createdAt: number };

export interface FaultOutcome {
  /** Leave the request unanswered. */
  hang?: boolean;
  /** Carry the request out, then close the connection without answering. */
  loseResponse?: boolean;
  latencyMs?: number;
  response?: { status: number; body: unknown };
}

/** Faults injected into chosen requests (by method + path regex), for resilience tests. */
export class FaultInjector {
  private faults: Fault[] = [];

  add(def: FaultDefinition): Fault {
    const parsed = faultSchema.parse(def);
    if (parsed.path) new RegExp(parsed.path);
    const fault: Fault = { ...parsed, id: randomUUID(), matched: 0, applied: 0, createdAt: Date.now() };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  remove(id?: string): void {
    this.faults = id ? this.faults.filter((f) => f.id !== id) : [];
  }

  /**
   * The first active fault matching the request, consumed by one; undefined when none. A composite's
   * subrequests pass `subrequest`: HANG is a property of the HTTP exchange, so it never matches one.
   */
  take(method: string, path: string, options: { subrequest?: boolean } = {}): FaultOutcome | undefined {
    const now = Date.now();
    for (const f of this.faults) {
      if (options.subrequest && (f.kind === 'HANG' || f.kind === 'LOST_RESPONSE')) continue;
      if (f.durationMs !== undefined && now - f.createdAt >= f.durationMs) continue;
      if (f.method && f.method.toUpperCase() !== method.toUpperCase()) continue;
      if (f.path && !new RegExp(f.path).test(path)) continue;
      f.matched += 1;
      if (f.matched <= f.skip) continue;
      if (f.count > 0 && f.applied >= f.count) continue;
      f.applied += 1;
      return outcome(f);
    }
    return undefined;
  }
}

function outcome(f: Fault): FaultOutcome {
  switch (f.kind) {
    case 'HANG':
      return { hang: true };
    case 'LOST_RESPONSE':
      return { loseResponse: true };
    case 'LATENCY':
      return { latencyMs: f.latencyMs ?? 1000 };
    case 'UNABLE_TO_LOCK_ROW':
      return {
        response: {
          status: f.status ?? 400,
          body: [
            {
              message: f.message ?? 'unable to obtain exclusive access to this record',
              errorCode: 'UNABLE_TO_LOCK_ROW',
              fields: f.fields ?? [],
            },
          ],
        },
      };
    case 'FIELD_CUSTOM_VALIDATION_EXCEPTION':
      return {
        response: {
          status: f.status ?? 400,
          body: [
            { message: f.message ?? 'Validation rule failed', errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: f.fields ?? [] },
          ],
        },
      };
    case 'HTTP_5XX': {
      const status = f.status ?? 503;
      const errorCode = status === 503 ? 'SERVER_UNAVAILABLE' : 'UNKNOWN_EXCEPTION';
      return {
        response: {
          status,
          body: [
            {
              message:
                f.message ??
                (status === 503
                  ? 'Server is temporarily unavailable'
                  : 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)'),
              errorCode,
            },
          ],
        },
      };
    }
    case 'ERROR':
      return {
        response: {
          status: f.status ?? 400,
          body: [{ message: f.message ?? 'injected error', errorCode: f.errorCode ?? 'UNKNOWN_EXCEPTION', fields: f.fields ?? [] }],
        },
      };
  }
}
