// Cost of one log line carrying a ~2 KB object (the size of a logged record or request), with the
// redaction the logger applies. Run: npx tsx --tsconfig tsconfig.base.json libs/runtime/bench/logger.bench.ts
import { Writable } from 'node:stream';
import { createLogger } from '@broker/runtime';

let bytes = 0;
const destination = new Writable({
  write(chunk, _e, cb) {
    bytes += chunk.length;
    cb();
  },
});
const logger = createLogger({ service: 'bench', level: 'info', destination }).child({
  queue: 'fn.write',
  jobId: 'wo-acme-500000000000001AAA-1700000000000',
});

const record: Record<string, unknown> = {};
for (let i = 0; i < 31; i++) record[`Field_${i}__c`] = `value number ${i} with some ordinary text in it`;
const line = {
  connectionId: 'acme',
  sfId: '500000000000001AAA',
  record,
  nested: {
    request: { method: 'POST', url: 'https://api.example.com/api/rest/v2/workorders?page=1', headers: { accept: 'application/json' } },
    tags: ['a', 'b', 'c'],
  },
};
const size = JSON.stringify(line).length;

function run(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) logger.info(line, 'work order written');
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}
run(2_000);
const samples = [run(10_000), run(10_000), run(10_000)].sort((a, b) => a - b);
console.log(`object ${size} B: ${samples[1]!.toFixed(1)} µs/line (median of 3 × 10,000; ${(bytes / 1e6).toFixed(0)} MB written)`);
