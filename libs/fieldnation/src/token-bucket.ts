/**
 * Client-side token bucket. Callers beyond the burst get a reservation in the future instead of an
 * error, so a burst of jobs spreads out at the configured rate in arrival order.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('rate must be > 0 and burst >= 1');
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Milliseconds the caller must wait before its request (0 = go now); the token is taken either way. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }
}
