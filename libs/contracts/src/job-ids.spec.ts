import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FetchRecordJob } from './queues';
import { fetchJobId, JOB_IDS, renderJobIdTable, sfWriteJobId } from './job-ids';
import { schedulers } from './schedulers';
import { STAGE_NAMES } from './stages';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../../docs/architecture.md'), 'utf8');

describe('job ids', () => {
  it('docs/architecture.md carries the table the builders render', () => {
    const table = /<!-- job-ids:start[^>]*-->\n([\s\S]*?)\n<!-- job-ids:end -->/.exec(doc)?.[1];
    expect(table, 'docs/architecture.md has no job-ids markers').toBeDefined();
    expect(table).toBe(renderJobIdTable());
  });

  it('names every queue job in the table', () => {
    expect(new Set(JOB_IDS.map((r) => `${r.queue}/${r.job}`))).toEqual(
      new Set([
        'sf.fetch/fetch-record',
        'sf.reconcile/sweep',
        'map/map-record',
        'fn.event/fn-event',
        'fn.write/write-work-order',
        'fn.write/post-message',
        'fn.write/cancel-work-order',
        'sf.write/write-record',
        'sf.file/copy-attachments',
        'fn.file/copy-file',
      ]),
    );
  });

  it('never puts BullMQ\'s ":" separator in an id, and keeps a re-sync id a valid notification id', () => {
    expect(fetchJobId.outboundMessage('a:b', '04l 1')).toBe('om-a_b-04l_1');
    expect(sfWriteJobId.writeBack('demo', '500000000000001AAA', 7)).toBe('wb-demo-500000000000001AAA-7');
    const long = fetchJobId.resync('c'.repeat(63), '500000000000001AAA', new Date(1_764_000_000_000));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(FetchRecordJob.shape.notificationId.safeParse(long).success).toBe(true);
    expect(fetchJobId.resync('demo', '500000000000001AAA', new Date(1_764_000_000_000))).toBe(
      'resync-demo-500000000000001AAA-1764000000000',
    );
  });

  it('gives one scheduler per connection and object, and one retention scheduler', () => {
    expect(schedulers.reconcile('demo', 'Case', '*/15 * * * *')).toEqual({
      queue: 'sf.reconcile',
      id: 'reconcile-demo-Case',
      pattern: '*/15 * * * *',
      job: { name: 'sweep', data: { connectionId: 'demo', sfObject: 'Case' } },
    });
    expect(schedulers.retention('0 3 * * *').id).toBe('retention');
  });
});

describe('stages', () => {
  it('docs/architecture.md names every stage the timeline can hold', () => {
    const row = doc.split('\n').find((l) => l.startsWith('| `timeline_entry` |')) ?? '';
    for (const stage of STAGE_NAMES) expect(row, `stage ${stage}`).toContain(`\`${stage}\``);
  });
});
