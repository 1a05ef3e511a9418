export interface RouteCounter {
  calls: number;
  byStatus: Record<string, number>;
}

export interface CountersSnapshot {
  /** Keyed by `METHOD /normalised/path` (numeric ids → `:id`, uuids → `:uuid`). */
  routes: Record<string, RouteCounter>;
  total: number;
  rateLimited: number;
  tokenRequests: number;
}

/** Replace ids in a path so calls to the same route share a counter. */
export function normaliseRoute(method: string, path: string): string {
  const normalised = path
    .replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:\d+)?(?=\/|$)/gi, '/:uuid')
    .replace(/\/\d+(?=\/|$)/g, '/:id')
    .replace(/\/+$/, '');
  return `${method.toUpperCase()} ${normalised || '/'}`;
}

export class Counters {
  private routes = new Map<string, RouteCounter>();
  private total = 0;
  private rateLimited = 0;
  private tokenRequests = 0;

  record(route: string, status: number): void {
    let c = this.routes.get(route);
    if (!c) {
      c = { calls: 0, byStatus: {} };
      this.routes.set(route, c);
    }
    c.calls += 1;
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    this.total += 1;
    if (status === 429) this.rateLimited += 1;
    if (route === 'POST /authentication/api/oauth/token') this.tokenRequests += 1;
  }

  snapshot(): CountersSnapshot {
    const routes: Record<string, RouteCounter> = {};
    for (const [k, v] of this.routes) routes[k] = { calls: v.calls, byStatus: { ...v.byStatus } };
    return { routes, total: this.total, rateLimited: this.rateLimited, tokenRequests: this.tokenRequests };
  }

  reset(): void {
    this.routes.clear();
    this.total = 0;
    this.rateLimited = 0;
    this.tokenRequests = 0;
  }
}
