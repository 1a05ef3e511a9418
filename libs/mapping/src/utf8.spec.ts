import { describe, expect, it } from 'vitest';
import { statusRank, STATUS_EVENT_RANKS } from './status-rank';
import { TRUNCATION_MARKER, truncateUtf8, utf8Length } from './utf8';

describe('truncateUtf8', () => {
  it('leaves short text alone', () => {
    expect(truncateUtf8('héllo', 6)).toBe('héllo');
  });
  it('cuts on a character boundary, marker included in the limit', () => {
    for (const ch of ['a', 'é', '€', '😀']) {
      const text = ch.repeat(5000);
      const out = truncateUtf8(text, 4000);
      expect(utf8Length(out)).toBeLessThanOrEqual(4000);
      expect(utf8Length(out)).toBeGreaterThan(4000 - 4 - utf8Length(TRUNCATION_MARKER));
      expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
      expect(out).not.toContain('\uFFFD');
      expect(out.slice(0, -TRUNCATION_MARKER.length)).toBe(ch.repeat([...out.slice(0, -TRUNCATION_MARKER.length)].length));
    }
  });
  it('custom marker', () => {
    expect(truncateUtf8('abcdefghij', 6, '..')).toBe('abcd..');
  });
});

describe('statusRank', () => {
  it('orders the lifecycle', () => {
    const order = [
      'draft',
      'published',
      'routed',
      'assigned',
      'confirmed',
      'on_my_way',
      'checked_in',
      'checked_out',
      'work_done',
      'approved',
      'paid',
    ];
    const ranks = order.map((s) => statusRank(`workorder.status.${s}`)!);
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    expect(statusRank('workorder.message_posted')).toBeUndefined();
    expect(Object.isFrozen(STATUS_EVENT_RANKS)).toBe(true);
  });
});
