import type { RateLimitOptions } from '../sim-options';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** One token bucket per key (access token). */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();

  constructor(private options: RateLimitOptions | false) {}

  configure(options: RateLimitOptions | false): void {
    this.options = options;
    this.buckets.clear();
  }

  get limits(): RateLimitOptions | false {
    return this.options;
  }

  /** Take one token; returns the seconds to wait when the bucket is empty. */
  take(key: string, now = Date.now()): { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number } {
    if (!this.options) return { ok: true, remaining: Number.POSITIVE_INFINITY };
    const { perMinute, burst } = this.options;
    const perMs = perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  }

  reset(): void {
    this.buckets.clear();
  }
}
