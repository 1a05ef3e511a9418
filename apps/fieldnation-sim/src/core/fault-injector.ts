import express, { type NextFunction, type Request, type Response } from 'express';

/** What a test asks for; all fields but `path` optional. */
export interface FaultSpec {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Regular expression (source) matched against the request path, e.g. `^/api/rest/v2/workorders$`. */
  path: string;
  /** Answer with this status instead of running the route (500, 502, 503, 429…). */
  status?: number;
  /** Delay before answering (or before running the route when no status is set). */
  latencyMs?: number;
  /** Never answer: the socket is held until the client gives up or `hangMs` passes, then destroyed. */
  timeout?: boolean;
  hangMs?: number;
  /** With status 429/503: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** JSON body to answer with (default: a Field Nation error body). */
  body?: unknown;
  /**
   * Run the route first, then lose its answer: `status` replaces it (or, with `timeout`, the socket
   * is cut). The change is made and the client cannot know: a create's "did it happen?" case.
   */
  afterRoute?: boolean;
  /**
   * A change made after the client has given up: the request gets no answer (held until the client
   * closes the connection or `hangMs` passes, then the socket is cut), and this many milliseconds
   * after the cut the route runs anyway: the work order appears with nobody told. With `timeout`
   * implied; `status`, `latencyMs` and `afterRoute` are ignored.
   */
  commitAfterMs?: number;
  /** Apply to the next N matching calls (default: unlimited until cleared or expired). */
  count?: number;
  /** Apply for this many wall-clock milliseconds from now. */
  durationMs?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  /** Calls this fault has answered so far. */
  hits: number;
  expiresAt?: number;
}

/** Chosen-route faults (5xx, 429, latency, timeouts) applied before authentication and routing. */
export class FaultInjector {
  private faults: Fault[] = [];
  private seq = 0;
  private readonly hanging = new Set<() => void>();
  private readonly lateCommits = new Set<NodeJS.Timeout>();
  // The body is read before the socket is cut (the route runs later, without a connection).
  private readonly readBody = express.json({ limit: '5mb' });

  add(spec: FaultSpec): Fault {
    new RegExp(spec.path); // reject a bad pattern at injection time, not on the next request
    const fault: Fault = { ...spec, id: `fault-${++this.seq}`, hits: 0 };
    if (spec.durationMs !== undefined) fault.expiresAt = Date.now() + spec.durationMs;
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    this.prune();
    return this.faults.map((f) => ({ ...f }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  /** Release every held (timeout) request and drop pending late commits: used on close. */
  releaseAll(): void {
    for (const release of this.hanging) release();
    this.hanging.clear();
    for (const timer of this.lateCommits) clearTimeout(timer);
    this.lateCommits.clear();
  }

  /** Hold the request without answering until the client closes it or `ms` pass, then cut the socket. */
  private async hang(req: Request, ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.hanging.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.hanging.add(release);
      req.socket.once('close', release);
    });
    req.socket.destroy();
  }

  /** See `FaultSpec.commitAfterMs`. */
  private async lateCommit(fault: Fault, req: Request, res: Response, next: NextFunction): Promise<void> {
    const parsed = await new Promise<unknown>((resolve) => this.readBody(req, res, resolve));
    if (parsed) return next(parsed); // a malformed body is answered now, like any other
    await this.hang(req, fault.hangMs ?? 120_000);
    // Nobody is listening any more: whatever the route answers goes nowhere.
    const discard = (() => res) as never;
    res.json = discard;
    res.send = discard;
    const timer = setTimeout(() => {
      this.lateCommits.delete(timer);
      next();
    }, fault.commitAfterMs);
    this.lateCommits.add(timer);
  }

  private prune(): void {
    const now = Date.now();
    this.faults = this.faults.filter(
      (f) => (f.count === undefined || f.hits < f.count) && (f.expiresAt === undefined || f.expiresAt > now),
    );
  }

  private match(method: string, path: string): Fault | undefined {
    this.prune();
    return this.faults.find((f) => (!f.method || f.method.toUpperCase() === method) && new RegExp(f.path).test(path));
  }

  middleware(renderError: (res: Response, status: number, message: string, headers: Record<string, string>) => void) {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      if (req.path.startsWith('/__sim')) return next();
      const fault = this.match(req.method, req.path);
      if (!fault) return next();
      fault.hits += 1;
      if (fault.commitAfterMs !== undefined) return await this.lateCommit(fault, req, res, next);
      if (fault.afterRoute) {
        const realJson = res.json.bind(res);
        res.json = ((body: unknown) => {
          res.json = realJson;
          if (res.statusCode >= 400) return realJson(body); // the route failed by itself: say so
          if (fault.timeout) {
            req.socket.destroy();
            return res;
          }
          renderError(res, fault.status ?? 502, `injected fault ${fault.id} (after the change was made)`, {});
          return res;
        }) as typeof res.json;
        return next();
      }
      if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (fault.timeout) {
        await this.hang(req, fault.hangMs ?? 120_000);
        return;
      }
      if (fault.status === undefined) return next();
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers['Retry-After'] = String(fault.retryAfterSeconds);
      if (fault.body !== undefined) {
        res.status(fault.status).set(headers).json(fault.body);
        return;
      }
      renderError(res, fault.status, `injected fault ${fault.id}`, headers);
    };
  }
}
