// npm run chaos [-- --records N | --small]: prints and records the chaos figures; exits 1 unless
// nothing was lost, duplicated (work orders or CaseComments) or dead-lettered.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChaos } from './chaos-run';

const args = process.argv.slice(2);
const small = args.includes('--small');
const recordsArg = args.indexOf('--records');
const records = recordsArg >= 0 ? Number(args[recordsArg + 1]) : small ? 150 : 2_000;
const root = path.resolve(import.meta.dirname, '..');

console.log(`chaos: ${records} records`);
// The small run (as in `npm test`) keeps the outages short; the full one holds PostgreSQL down 150 s and Salesforce hung 60 s.
const result = await runChaos({
  records,
  settleSeconds: small ? 300 : 600,
  ...(small ? { pgOutageSeconds: 20, salesforceHangSeconds: 15 } : {}),
});
const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version };
const out = { date: new Date().toISOString(), machine, ...result };
writeFileSync(path.join(root, 'bench/results/chaos-latest.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));

const section = `<!-- chaos:start -->
## Chaos (\`npm run chaos\`)

Run ${out.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}: ${result.records_sent} records in ${result.seconds.toFixed(0)} s.

| records sent | work orders created | duplicate work orders | lost | CaseComments | duplicate CaseComments | dead-lettered jobs |
|---:|---:|---:|---:|---:|---:|---:|
| ${result.records_sent} | ${result.work_orders_created} | ${result.duplicates} | ${result.lost} | ${result.case_comments} | ${result.duplicate_case_comments} | ${result.dead_lettered} |

PostgreSQL down ${result.pg_outage_seconds} s; Salesforce hung ${result.salesforce_hang_seconds} s (${result.salesforce_hung_requests} requests never answered, given up on by the
client's 5 s timeout); ${result.late_commits} Field Nation creates committed after the broker gave up; ${result.webhook_replays_accepted} of ${result.webhook_replays} signed
webhooks replayed under a new delivery id or none accepted by the ingress; Redis SIGKILLed and the last second of its AOF
(${result.redis_aof_bytes_dropped} bytes, with the jobs of ${result.redis_acked_in_lost_second} Outbound Messages the ingress had acknowledged in it) cut, as a host crash under \`appendfsync everysec\` loses it; then
${result.reconciliation_sweeps} reconciliation sweeps (queued as \`broker reconcile\` does) fed ${result.reconciled_records} Cases back in (lost with that second, or still in flight).
The run fails unless lost, duplicate work orders, duplicate CaseComments and dead-lettered jobs are all 0.

Faults, one per wave of new Cases, each followed by a SIGKILL of one app in turn (every app is killed two to four times): ${result.faults.join('; ')}.
Redis (AOF, appendfsync everysec, SIGKILLed: see docs/operations.md for what that can lose and what recovers it) and
PostgreSQL are private instances of the run, so they can be killed, stopped and restarted.
<!-- chaos:end -->`;
const doc = path.join(root, 'docs/benchmarks.md');
const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
writeFileSync(
  doc,
  /<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/.test(text)
    ? text.replace(/<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/, section)
    : `${text.trimEnd()}\n\n${section}\n`,
);
process.exit(result.lost === 0 && result.duplicates === 0 && result.duplicate_case_comments === 0 && result.dead_lettered === 0 ? 0 : 1);
