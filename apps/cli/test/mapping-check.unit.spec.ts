import { execFile } from 'node:child_process';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { catalogueCache } from '@broker/fieldnation';
import { createLogger } from '@broker/runtime';
import { loadDemoConfig, serversForFile, TEST_PATH_TOKEN } from '@broker/testing';
import { startFieldNationSim } from '../../fieldnation-sim/src/index';
import { workspaceRoot } from '../../../vitest.shared';
import { configValidateCommand } from '../src/config-validate.command';
import { fieldnationLookupCommand } from '../src/fieldnation-lookup.command';
import { mappingTargetsCommand } from '../src/mapping-targets.command';
import { captureIo } from './cli-test-kit';

// Referee: the simulator serves Field Nation's catalogues as rest-v2.yaml defines them (its contract
// check validates every request and answer); the lists below are its seed (docs/simulator-fieldnation.md).
const logger = createLogger({ service: 'sim', level: 'silent' });
const sims = serversForFile({ fn: () => startFieldNationSim({ port: 0, logger, rateLimit: false }) });
const tsx = path.join(workspaceRoot, 'node_modules/.bin/tsx');
const SF_URL = 'http://127.0.0.1:9'; // never called: validate and lookup do not talk to Salesforce

beforeEach(() => {
  sims.fn.reset();
  catalogueCache.clear();
});

const env = () => ({ SF_LOGIN_URL: SF_URL, FN_BASE_URL: sims.fn.url, SF_OM_PATH_TOKEN: TEST_PATH_TOKEN });
/** The demo config with its case mapping edited; returns the config file. */
const demoWith = (editMapping: (text: string) => string) =>
  loadDemoConfig({ salesforceUrl: SF_URL, fieldnationUrl: sims.fn.url }, { editMapping }).file;
const catalogueCalls = () =>
  Object.entries(sims.fn.counters().routes)
    .filter(([route]) => /types-of-work|custom-fields|templates|projects/.test(route))
    .reduce((n, [, c]) => n + c.calls, 0);

async function validate(file: string) {
  const io = captureIo();
  const code = await configValidateCommand(file, io, env());
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('broker config validate: mappings checked against Field Nation', () => {
  it('rejects a misspelt target, an unknown enum value, an undeclared expression read and an unknown type of work, each with file, entry and fix', async () => {
    const file = demoWith((t) =>
      t
        .replace(
          '  location.city: { from: Account.BillingCity, required: true }',
          '  locaton.city: { from: Account.BillingCity, required: true }',
        )
        .replace('fallback: { value: between }', 'fallback: { value: betwen }')
        .replace(
          '  confidential.html:\n    template: "Salesforce Case {{CaseNumber}}"',
          "  confidential.html:\n    jsonata: \"'Case ' & CaseNumber & ' ' & Origin\"\n    reads: [CaseNumber]",
        )
        .replace(
          'map: { Installation: 62, Repair: 45, Maintenance: 27, Survey: 11 }',
          'map: { Installation: { typeOfWork: "Point of Sael" }, Repair: 45, Maintenance: 27, Survey: 11 }',
        ),
    );
    const { code, err } = await validate(file);
    expect(code).toBe(1);
    const mapping = path.join(path.dirname(file), 'case-to-work-order.yaml');
    const lines = err.split('\n').filter((l) => l.includes(mapping));
    const lineOf = (entry: string) => lines.find((l) => l.includes(`${mapping}: ${entry}: `)) ?? `(no line for ${entry} in)\n${err}`;
    expect(lineOf('locaton.city')).toMatch(/Field Nation's work order has no field "locaton" — fix: did you mean "location\.city"\?/);
    expect(lineOf('schedule.service_window.mode')).toMatch(
      /mapped value: "betwen" is not a value Field Nation accepts: one of "hours", "between", "exact" \(did you mean "between"\?\) — fix: use one of "hours", "between", "exact"/,
    );
    expect(lineOf('confidential.html')).toMatch(
      /jsonata reads Origin, which "reads:" does not declare: .* — fix: add "Origin" to reads: \(now \[CaseNumber\]\)/,
    );
    expect(lineOf('types_of_work')).toMatch(
      /no type of work named "Point of Sael" on this Field Nation company; close: "Point of Sale" \(62\) — fix: use a name or id from `broker fieldnation lookup types-of-work`/,
    );
    expect(err).toMatch(/connections\[0\]\.objects\.Case\.mapping: 4 problems:/);
  });

  it('resolves names through the connection, one call per catalogue named; none when no names are used', async () => {
    const named = demoWith((t) =>
      t
        .replace(
          'map: { Installation: 62, Repair: 45,',
          'map: { Installation: { typeOfWork: "Point of Sale" }, Repair: { typeOfWork: printers },',
        )
        .replace('"607": { from: CaseNumber, required: true }', '"Salesforce Case Number": { from: CaseNumber, required: true }'),
    );
    expect(await validate(named)).toMatchObject({ code: 0, out: expect.stringMatching(/is valid: 1 connection/) });
    expect(sims.fn.counters().routes).toMatchObject({
      'GET /api/rest/v2/types-of-work': { calls: 1 },
      'GET /api/rest/v2/custom-fields': { calls: 1 },
    });
    expect(catalogueCalls()).toBe(2);

    sims.fn.resetCounters();
    expect((await validate(demoWith((t) => t))).code).toBe(0);
    expect(sims.fn.counters().total).toBe(0);
    expect(sims.fn.counters().tokenRequests).toBe(0);
  });

  it('an ambiguous name lists the candidates; Field Nation unreachable is an error naming the catalogue', async () => {
    const file = demoWith((t) => t.replace('map: { Installation: 62,', 'map: { Installation: { typeOfWork: "Re" },'));
    // "Re" is no type of work; the close ones are listed only when near.
    expect((await validate(file)).err).toMatch(/types_of_work: no type of work named "Re" on this Field Nation company/);
    sims.fn.injectFault({ path: '/types-of-work', status: 503, count: 10 });
    catalogueCache.clear();
    expect((await validate(file)).err).toMatch(
      /\(names\): cannot list Field Nation types of work to resolve the names the mapping uses: .*503.* — fix: /,
    );
  });
});

describe('broker fieldnation lookup', () => {
  const config = () => loadDemoConfig({ salesforceUrl: SF_URL, fieldnationUrl: sims.fn.url });

  it('lists a catalogue, filtered by --search (any case) or id', async () => {
    const io = captureIo();
    expect(await fieldnationLookupCommand(config(), 'types-of-work', { search: 'point' }, io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^id\s+name.*\n-+.*\n62\s+Point of Sale/);
    expect(io.stdout.join('\n')).not.toMatch(/Networking/);
    expect(io.stderr.join('\n')).toMatch(/1 of 5 types-of-work matching "point" \(connection demo\)/);

    const fields = captureIo();
    await fieldnationLookupCommand(config(), 'custom-fields', { search: '610', json: true }, fields);
    expect(JSON.parse(fields.stdout.join(''))).toEqual({
      connection: 'demo',
      kind: 'custom-fields',
      complete: true,
      total: 7,
      results: [{ id: 610, name: 'Priority', detail: 'predefined (Low, Medium, High, Critical)' }],
    });
    for (const [what, name] of [
      ['templates', 'POS Replacement'],
      ['projects', 'Retail Rollout 2026'],
    ]) {
      const out = captureIo();
      await fieldnationLookupCommand(config(), what!, {}, out);
      expect(out.stdout.join('\n')).toContain(name);
    }
  });

  it('runs as a command against Field Nation over HTTP', async () => {
    const cfg = config();
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        tsx,
        ['apps/cli/src/main.ts', 'fieldnation', 'lookup', 'templates', '--search', 'network'],
        { cwd: workspaceRoot, env: { PATH: process.env.PATH, BROKER_CONFIG: cfg.file, ...env() } },
        (err, out) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: out }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/434\s+Network Drop/);
    expect(stdout).not.toMatch(/POS Replacement/);
  });

  it('refuses an unknown catalogue and a connection that does not exist', async () => {
    await expect(fieldnationLookupCommand(config(), 'widgets', {}, captureIo())).rejects.toThrow(
      /unknown catalogue "widgets": one of types-of-work/,
    );
    await expect(fieldnationLookupCommand(config(), 'templates', { connection: 'nope' }, captureIo())).rejects.toThrow(
      /no connection "nope"/,
    );
  });
});

describe('broker mapping targets', () => {
  it('prints the work-order paths with their types and enum values', () => {
    const io = captureIo();
    expect(mappingTargetsCommand({ search: 'service_window.mode' }, io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/schedule\.service_window\.mode\s+string\s+hours, between, exact/);
  });
});
