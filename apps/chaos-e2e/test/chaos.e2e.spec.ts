import { describe, expect, it } from 'vitest';
import { runChaos } from '../../../bench/chaos-run';

describe('chaos (small run)', () => {
  it('loses, duplicates and dead-letters nothing while apps and Redis are SIGKILLed, PostgreSQL is down, Salesforce hangs, both platforms misbehave and webhooks are replayed', async () => {
    // Shorter outages than `npm run chaos` (150 s and 60 s) keep `npm test` reasonable; the paths are the same.
    const result = await runChaos({
      records: 150,
      settleSeconds: 300,
      pgOutageSeconds: 20,
      salesforceHangSeconds: 15,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`chaos: ${JSON.stringify({ ...result, stuck: undefined })}\n`);
    expect(result.failed_reasons).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.duplicate_case_comments).toBe(0);
    expect(result.dead_lettered).toBe(0);
    expect(result.work_orders_created).toBe(result.records_sent);
    expect(result.faults.length).toBeGreaterThanOrEqual(20);
    // The faults did happen: late creates, unanswered Salesforce calls, accepted replays, comments to double.
    expect(result.late_commits).toBeGreaterThan(0);
    expect(result.salesforce_hung_requests).toBeGreaterThan(0);
    expect(result.webhook_replays_accepted).toBeGreaterThan(0);
    expect(result.case_comments).toBeGreaterThan(0);
    expect(result.reconciliation_sweeps).toBeGreaterThan(0);
  });
});
