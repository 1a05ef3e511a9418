import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket';
import { parseRetryAfter } from './fieldnation-error';
import { resolveOrigin } from './fieldnation-transport';

describe('TokenBucket', () => {
  it('lets the burst through, then spaces callers at the rate in arrival order', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 100, 200]);
    now = 1000;
    expect(bucket.reserve()).toBe(0);
  });
});

describe('helpers', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('resolves environments to hosts', () => {
    expect(resolveOrigin('sandbox')).toBe('https://api-sandbox.fndev.net');
    expect(resolveOrigin('production')).toBe('https://api.fieldnation.com');
    expect(resolveOrigin('http://127.0.0.1:3300/api/rest/v2/')).toBe('http://127.0.0.1:3300');
    expect(resolveOrigin('http://localhost:3300')).toBe('http://localhost:3300');
    expect(() => resolveOrigin('staging')).toThrow(/sandbox/);
  });
});
