import type { Session } from '../auth/session-store';
import type { SimContext } from '../sim-context';

/** A REST call after authentication, independent of Express so that composite can replay it. */
export interface RestCall {
  method: string;
  /** Path below `/services/data/vXX.X`, e.g. `/sobjects/Case/500…`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  version: string;
  session: Session;
  headers: Record<string, string | undefined>;
}

export interface RestResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RestHandler = (ctx: SimContext, call: RestCall, params: string[]) => RestResult;

export interface RestRoute {
  method: string;
  pattern: RegExp;
  handler: RestHandler;
}
