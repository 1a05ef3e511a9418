import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspaceRoot } from '../../../vitest.shared';
import { configValidateCommand } from '../src/config-validate.command';
import { mappingPreviewCommand } from '../src/mapping-preview.command';
import { pathTokenCommand } from '../src/salesforce-metadata.command';
import { captureIo, testConfigYaml, tmpDir } from './cli-test-kit';

const mappings = path.join(workspaceRoot, 'config/mappings');
const tsx = path.join(workspaceRoot, 'node_modules/.bin/tsx');

describe('config validate', () => {
  it('accepts a valid config, compiles its mappings and lists its connections', async () => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, testConfigYaml(mappings));
    const io = captureIo();
    expect(await configValidateCommand(file, io, {})).toBe(0);
    expect(io.stdout.join('\n')).toMatch(
      /is valid: 2 connection\(s\)\n {2}demo: objects Case, Work_Request__c, CaseComment; event rules\n {2}locked: objects Opportunity/,
    );
  });

  it('names the exact path that is wrong', async () => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, testConfigYaml(mappings).replace('organizationId: 00D000000000001AAA', 'organizationId: not-an-id'));
    const io = captureIo();
    expect(await configValidateCommand(file, io, {})).toBe(1);
    expect(io.stderr.join('\n')).toContain('connections[0].salesforce.organizationId: a 15- or 18-character Salesforce id');
  });

  it('refuses a connection without an Outbound Message path token, naming the key and the command that makes one', async () => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, testConfigYaml(mappings).replace(/\n\s*pathToken: tEsT-pAtH-t0ken_0123456789abcdef/, ''));
    const io = captureIo();
    expect(await configValidateCommand(file, io, {})).toBe(1);
    expect(io.stderr.join('\n')).toMatch(
      /connections\[0\]\.salesforce\.pathToken: required: .*broker salesforce path-token.*unsafeAllowNoPathToken/,
    );
    // A weak one is refused too: 16 hex digits are 64 bits.
    writeFileSync(file, testConfigYaml(mappings).replace('pathToken: tEsT-pAtH-t0ken_0123456789abcdef', 'pathToken: 0123456789abcdef'));
    const weak = captureIo();
    expect(await configValidateCommand(file, weak, {})).toBe(1);
    expect(weak.stderr.join('\n')).toMatch(/connections\[0\]\.salesforce\.pathToken: too short for 128 bits/);
  });

  it('prints a fresh path token the config accepts', async () => {
    const a = captureIo();
    const b = captureIo();
    expect(pathTokenCommand(a)).toBe(0);
    pathTokenCommand(b);
    const token = a.stdout.join('').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(b.stdout.join('').trim()).not.toBe(token);
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, testConfigYaml(mappings).replace('pathToken: tEsT-pAtH-t0ken_0123456789abcdef', `pathToken: ${token}`));
    expect(await configValidateCommand(file, captureIo(), {})).toBe(0);
  });

  it.each([
    [
      'client credentials on instance: production',
      (t: string) => t.replace('      instance: https://locked.my.salesforce.com\n', '      instance: production\n'),
      /connections\[1\]\.salesforce\.instance: the client credentials flow only works on the org's My Domain.*set salesforce\.instance to https:\/\/<MyDomain>\.my\.salesforce\.com/,
    ],
    [
      'SOAP login() on API 65.0',
      (t: string) => t.replace('apiVersion: "61.0"', 'apiVersion: "65.0"'),
      /connections\[0\]\.salesforce\.apiVersion: SOAP API login\(\) \(auth\.flow password\) does not exist in API version 65\.0 and later: set salesforce\.apiVersion to "64\.0" or lower, or switch salesforce\.auth\.flow to jwt or client-credentials/,
    ],
    [
      'a webhook secret that is not a UUID',
      (t: string) => t.replace('webhookSecret: 5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f', 'webhookSecret: my-webhook-secret'),
      /connections\[0\]\.fieldnation\.webhookSecret: must be a UUID.*run `broker fieldnation webhook` to generate one/,
    ],
  ])('rejects %s, naming the key and the fix', async (_name, edit, message) => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, edit(testConfigYaml(mappings)));
    const io = captureIo();
    expect(await configValidateCommand(file, io, {})).toBe(1);
    expect(io.stderr.join('\n')).toMatch(message);
  });

  it('compiles the mappings the config names and reports a broken one by its config path', async () => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(path.join(dir, 'broken.yaml'), 'object: Case\nfields:\n  title: { concat: 5 }\n');
    writeFileSync(
      file,
      testConfigYaml(mappings).replace(
        `mapping: ${mappings}/case-to-work-order.yaml\n        trigger: "StageName`,
        `mapping: broken.yaml\n        trigger: "StageName`,
      ),
    );
    const io = captureIo();
    expect(await configValidateCommand(file, io, {})).toBe(1);
    expect(io.stderr.join('\n')).toMatch(/connections\[1\]\.objects\.Opportunity\.mapping: .*broken\.yaml/);
  });

  it('exits 1 with the message when run as a command', () => {
    const dir = tmpDir('cfg');
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, 'connections:\n  - id: "bad id!"\n');
    const res = spawnSync(tsx, ['apps/cli/src/main.ts', 'config', 'validate', file], {
      cwd: workspaceRoot,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`invalid config ${file}`);
    expect(res.stderr).toContain('connections[0].id: letters, digits, _ and - (max 63)');
    expect(res.stderr).toContain('connections[0].salesforce');
  });
});

describe('mapping preview', () => {
  const record = {
    attributes: { type: 'Case' },
    Id: '500000000000001AAA',
    CaseNumber: '00001042',
    Subject: 'Replace the router',
    Description: 'Router in the back office is dead',
    Priority: 'High',
    Origin: 'Phone',
    Work_Type__c: 'Repair',
    Preferred_Service_Date__c: '2025-03-04T14:00:00.000+0000',
    Account: {
      Name: 'Acme',
      BillingStreet: '1 Main St\nSuite 4',
      BillingCity: 'Springfield',
      BillingState: 'il',
      BillingPostalCode: '62701',
      BillingCountry: 'USA',
      Owner: null,
    },
    Contact: { FirstName: 'Ann', LastName: 'Lee', Phone: '555-0100', Email: 'ann@example.com' },
  };

  it('prints the payload a record maps to', async () => {
    const dir = tmpDir('map');
    writeFileSync(path.join(dir, 'record.json'), JSON.stringify(record));
    const io = captureIo();
    expect(await mappingPreviewCommand(path.join(mappings, 'case-to-work-order.yaml'), path.join(dir, 'record.json'), io)).toBe(0);
    const payload = JSON.parse(io.stdout.join('\n'));
    expect(payload.title).toBe('00001042: Replace the router');
    expect(payload.location).toMatchObject({ address1: '1 Main St', address2: 'Suite 4', city: 'Springfield', state: 'IL', country: 'US' });
    expect(io.stderr.join('\n')).toMatch(/reads \d+ Salesforce field\(s\): .*Account\.BillingCity/);
  });

  it('prints every error when the record does not fit', async () => {
    const dir = tmpDir('map');
    writeFileSync(
      path.join(dir, 'record.json'),
      JSON.stringify({ ...record, Account: { ...record.Account, BillingCity: null }, Preferred_Service_Date__c: null }),
    );
    const io = captureIo();
    expect(await mappingPreviewCommand(path.join(mappings, 'case-to-work-order.yaml'), path.join(dir, 'record.json'), io)).toBe(1);
    const errors = io.stderr.join('\n');
    expect(errors).toContain('location.city');
    expect(errors).toContain('schedule.service_window.start.utc');
    expect(io.stdout).toEqual([]);
  });

  it('refuses a record file that is not one JSON object', async () => {
    const dir = tmpDir('map');
    writeFileSync(path.join(dir, 'record.json'), '[1,2]');
    await expect(
      mappingPreviewCommand(path.join(mappings, 'case-to-work-order.yaml'), path.join(dir, 'record.json'), captureIo()),
    ).rejects.toThrow(/expected one JSON object/);
  });
});
