import { EventEmitter } from 'node:events';

/**
 * The simulator's notion of "now". Virtual time runs `timeFactor` times faster than wall time and can
 * be pushed forward on demand, so retry schedules measured in hours (Outbound Messages) and session
 * lifetimes can be exercised in a test that lasts seconds.
 */
export class VirtualClock extends EventEmitter {
  private readonly realStart: number;
  private readonly virtualStart: number;
  private offset = 0;

  constructor(
    readonly timeFactor = 1,
    start = Date.now(),
  ) {
    super();
    if (!(timeFactor > 0)) throw new Error('timeFactor must be > 0');
    this.realStart = Date.now();
    this.virtualStart = start;
  }

  now(): number {
    return Math.floor(this.virtualStart + (Date.now() - this.realStart) * this.timeFactor + this.offset);
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  advance(ms: number): number {
    if (!(ms >= 0)) throw new Error('can only advance the clock by a non-negative amount');
    this.offset += ms;
    this.emit('advanced', ms);
    return this.now();
  }

  /** Wall-clock milliseconds until virtual time `at` (never negative). */
  realDelayUntil(at: number): number {
    return Math.max(0, Math.ceil((at - this.now()) / this.timeFactor));
  }
}
