// Memory over a long Jsonnet run: maps records with the Jsonnet variant of the mapping bench (two
// Jsonnet entries per record) and prints RSS, V8 heap and the WebAssembly memory of jrsonnet every
// so often; then evaluates through jrsonnet alone (the path for what the compile-once engine hands
// over) to show its WebAssembly memory stays put. Run `npx tsx bench/jsonnet-memory.ts [records]
// [jrsonnet evaluations]`; figures are recorded by hand in docs/mapping.md.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { compileMapping } from '@broker/mapping';
import { JSONNET_ENTRIES, records } from './mapping-bench';
import { jsonnetStats, prepareJsonnet, runJsonnet } from '../libs/mapping/src/jsonnet-runner';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const total = Number(process.argv[2] ?? 2_000_000);
const jrsonnetRuns = Number(process.argv[3] ?? 20_000);

const source = parseYaml(readFileSync(path.join(root, 'config/mappings/case-to-work-order.yaml'), 'utf8')) as {
  fields: Record<string, unknown>;
};
for (const t of Object.keys(source.fields)) if (t.startsWith('schedule') || t.startsWith('pay')) delete source.fields[t];
Object.assign(source.fields, JSONNET_ENTRIES);
const mapping = compileMapping(source, { file: 'jsonnet memory run' });
const input = records(1000);

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
function report(label: string): void {
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(34)} rss ${mb(m.rss).padStart(9)}  heapUsed ${mb(m.heapUsed).padStart(8)}  external+wasm ${mb(m.external + m.arrayBuffers).padStart(8)}`,
  );
}

report('start');
const step = Math.max(1, Math.floor(total / 10));
const t0 = process.cpuUsage();
for (let i = 0; i < total; i++) {
  mapping.mapSync!(input[i % input.length]!);
  if ((i + 1) % step === 0) report(`${(i + 1).toLocaleString('en-US')} records (compile-once)`);
}
const cpu = process.cpuUsage(t0);
console.log(`${((total * 1e6) / (cpu.user + cpu.system)).toFixed(0)} records/s of CPU; evaluations: ${JSON.stringify(jsonnetStats)}`);

// jrsonnet alone: the prepared script without its compiled form is what the runner does for scripts it hands over.
const p = prepareJsonnet((JSONNET_ENTRIES.schedule as { jsonnet: string }).jsonnet);
const jr = { head: p.head, tail: p.tail };
const jstep = Math.max(1, Math.floor(jrsonnetRuns / 5));
for (let i = 0; i < jrsonnetRuns; i++) {
  runJsonnet(jr, { Priority: 'High', Preferred_Service_Date__c: input[i % input.length]!.Preferred_Service_Date__c });
  if ((i + 1) % jstep === 0) report(`${(i + 1).toLocaleString('en-US')} jrsonnet evaluations`);
}
