// npm run chaos [-- --records N | --small]: prints and records the chaos figures; exits 1 unless
// lost = 0 and duplicates = 0.
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
const result = await runChaos({ records, settleSeconds: small ? 90 : 240 });
const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version };
const out = { date: new Date().toISOString(), machine, ...result };
writeFileSync(path.join(root, 'bench/results/chaos-latest.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));

const section = `<!-- chaos:start -->
## Chaos (\`npm run chaos\`)

Run ${out.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}: ${result.records_sent} records in ${result.seconds.toFixed(0)} s.

| records sent | work orders created | duplicates | lost | failed jobs left |
|---:|---:|---:|---:|---:|
| ${result.records_sent} | ${result.work_orders_created} | ${result.duplicates} | ${result.lost} | ${result.stuck_failed} |

Faults, one per wave of new Cases, each followed by a SIGKILL of one app in turn (every app is killed two or three times): ${result.faults.join('; ')}. Redis (AOF, appendfsync always) and
PostgreSQL are private instances of the run, so they can be stopped and restarted.
<!-- chaos:end -->`;
const doc = path.join(root, 'docs/benchmarks.md');
const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
writeFileSync(doc, /<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/.test(text) ? text.replace(/<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/, section) : `${text.trimEnd()}\n\n${section}\n`);
process.exit(result.lost === 0 && result.duplicates === 0 ? 0 : 1);
