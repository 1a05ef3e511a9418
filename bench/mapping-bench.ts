// Mapping throughput per core (single thread): the declarative example mapping, and the same mapping
// with one JSONata entry and with one Jsonnet entry. Run `npx tsx bench/mapping-bench.ts [seconds]`;
// prints the figures and rewrites the "Mapping" section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { compileMapping, type CompiledMapping, type SalesforceRecord } from '@broker/mapping';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAPPING = path.join(root, 'config/mappings/case-to-work-order.yaml');

export interface MappingBenchResult {
  declarative_records_per_s: number;
  jsonata_records_per_s: number;
  jsonnet_records_per_s: number;
}

const PRIORITIES = ['Low', 'Medium', 'High', 'Critical', null];
const WORK_TYPES = ['Installation', 'Repair', 'Maintenance', 'Survey', 'Other'];

/** Distinct records, with nulls at each relationship level now and then, so no single shape is measured. */
export function records(n: number): SalesforceRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const manager = i % 7 === 0 ? null : { attributes: { type: 'User' }, Name: `Manager ${i}`, Email: `m${i}@example.com` };
    const owner = i % 11 === 0 ? null : { attributes: { type: 'User' }, Name: `Owner ${i}`, Email: `o${i}@example.com`, Manager: manager };
    return {
      attributes: { type: 'Case', url: `/services/data/v62.0/sobjects/Case/500${i}` },
      Id: `500000000000${String(i).padStart(3, '0')}AAA`,
      CaseNumber: String(1000 + i).padStart(8, '0'),
      Subject: `Terminal ${i} does not boot`,
      Description: i % 5 === 0 ? null : `Customer reports <error ${i}>.\nNeeds it before Friday & the weekend.`,
      Priority: PRIORITIES[i % PRIORITIES.length],
      Origin: 'Phone',
      Work_Type__c: WORK_TYPES[i % WORK_TYPES.length],
      Preferred_Service_Date__c: new Date(Date.UTC(2026, 6, 1 + (i % 28), 8 + (i % 9))).toISOString().replace('Z', '+0000'),
      Account: {
        attributes: { type: 'Account' },
        Name: `Acme #${i}`,
        BillingStreet: i % 3 === 0 ? `${i} Main Street\nSuite ${i}` : `${i} Main Street`,
        BillingCity: 'Minneapolis',
        BillingState: 'mn',
        BillingPostalCode: '55401',
        BillingCountry: i % 4 === 0 ? 'Canada' : 'United States',
        Owner: owner,
      },
      Contact: i % 6 === 0 ? null : { attributes: { type: 'Contact' }, FirstName: 'Jane', LastName: `Doe ${i}`, Email: `j${i}@example.com`, Phone: '+1 612 555 0100' },
    };
  });
}

function variant(kind: 'jsonata' | 'jsonnet'): CompiledMapping {
  const source = parseYaml(readFileSync(MAPPING, 'utf8')) as { fields: Record<string, unknown> };
  source.fields.title =
    kind === 'jsonata'
      ? { jsonata: "CaseNumber & ': ' & $substring(Subject, 0, 110)", reads: ['CaseNumber', 'Subject'], required: true }
      : { jsonnet: "$.input.CaseNumber + ': ' + std.substr($.input.Subject, 0, 110)", reads: ['CaseNumber', 'Subject'], required: true };
  return compileMapping(source, { file: `${MAPPING} (+${kind} title)` });
}

/**
 * Records per second of CPU time of this (single-threaded) process: "per core", and unaffected by
 * other processes competing for the machine, which wall-clock figures are not.
 */
async function measure(map: (r: SalesforceRecord) => unknown, input: SalesforceRecord[], seconds: number, isAsync: boolean): Promise<number> {
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const run = async (ms: number) => {
    let n = 0;
    const start = cpuMs();
    let now = start;
    // Check the clock every batch, not every record: reading it costs more than a mapping.
    while (now - start < ms) {
      if (isAsync) for (let i = 0; i < input.length; i++) await map(input[i]!);
      else for (let i = 0; i < input.length; i++) map(input[i]!);
      n += input.length;
      now = cpuMs();
    }
    return (n * 1000) / (now - start);
  };
  await run(Math.min(1000, seconds * 250)); // warm-up: let the JIT settle
  return run(seconds * 1000);
}

export async function runMappingBench(options: { seconds?: number } = {}): Promise<MappingBenchResult> {
  const seconds = options.seconds ?? 3;
  const declarative = compileMapping(readFileSync(MAPPING, 'utf8'), { file: MAPPING });
  const input = records(1000);
  const jsonata = variant('jsonata');
  const jsonnet = variant('jsonnet');
  const syncMap = declarative.mapSync!;
  return {
    declarative_records_per_s: Math.round(await measure(syncMap, input, seconds, false)),
    jsonata_records_per_s: Math.round(await measure((r) => jsonata.map(r), input.slice(0, 200), seconds, true)),
    // Jsonnet runs synchronously in WebAssembly: mapSync exists.
    jsonnet_records_per_s: Math.round(await measure(jsonnet.mapSync!, input.slice(0, 50), seconds, false)),
  };
}

const START = '<!-- mapping:start -->';
const END = '<!-- mapping:end -->';

function writeSection(result: MappingBenchResult, seconds: number): string {
  const compiled = compileMapping(readFileSync(MAPPING, 'utf8'), { file: MAPPING });
  const shape = { writes: compiled.writes.length, reads: compiled.reads.length };
  const file = path.join(root, 'docs/benchmarks.md');
  let gitRev = '';
  try {
    gitRev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    gitRev = 'unknown';
  }
  const fmt = (n: number) => n.toLocaleString('en-US');
  const section = [
    START,
    '## Mapping',
    '',
    'Records mapped per second of CPU time on one core (single thread, `process.cpuUsage()`, so other load on',
    'the machine does not distort it), `npx tsx bench/mapping-bench.ts`:',
    `\`config/mappings/case-to-work-order.yaml\` (${shape.writes} targets, ${shape.reads} Salesforce paths, relationships 3 levels deep)`,
    'over 1,000 distinct Case records with nulls at each relationship level; the JSONata and Jsonnet',
    'variants compute `title` with an expression instead of a concat, everything else unchanged.',
    '',
    '| Mapping | records/s |',
    '|---|---:|',
    `| declarative (\`mapSync\`) | ${fmt(result.declarative_records_per_s)} |`,
    `| + 1 JSONata entry (\`await map\`) | ${fmt(result.jsonata_records_per_s)} |`,
    `| + 1 Jsonnet entry (\`mapSync\`, jrsonnet WebAssembly) | ${fmt(result.jsonnet_records_per_s)} |`,
    '',
    `Target: declarative ≥ 200,000 records/s per core. Machine: Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${os.cpus().length} logical CPUs; ${seconds} s per figure; ${new Date().toISOString().slice(0, 10)}; commit ${gitRev}.`,
    END,
  ].join('\n');
  const existing = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmarks\n\nFigures measured by the scripts in `bench/`, on the machine named in each section. Each script rewrites only its own section.\n';
  const next =
    existing.includes(START) && existing.includes(END)
      ? existing.slice(0, existing.indexOf(START)) + section + existing.slice(existing.indexOf(END) + END.length)
      : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  return file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const seconds = Number(process.argv[2] ?? 3);
  const result = await runMappingBench({ seconds });
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${writeSection(result, seconds)}`);
}
