import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from './config-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const valid = `
connections:
  - id: demo
    salesforce:
      organizationId: 00D000000000001AAA
      auth:
        flow: password
        username: u
        password: \${SF_PASSWORD}
    fieldnation:
      environment: sandbox
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: \${FN_SECRET:-0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a}
    objects:
      Case: { mapping: mappings/case.yaml }
`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loader', () => {
  it('interpolates env vars with defaults and fills defaults', () => {
    const cfg = parseConfig(valid, '/etc/broker/config.yaml', { SF_PASSWORD: 'pw' });
    const c = cfg.connections[0]!;
    expect(c.salesforce.auth).toMatchObject({ flow: 'password', password: 'pw', securityToken: '' });
    expect(c.fieldnation.webhookSecret).toBe('0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a');
    expect(c.salesforce.instance).toBe('production');
    expect(c.objects.Case!.correlation).toEqual({ incidentId: true });
    expect(cfg.dir).toBe('/etc/broker');
  });

  it('names the file and the path of a bad value', () => {
    const err = errorOf(() => parseConfig(valid.replace('00D000000000001AAA', 'not-an-id'), 'bad.yaml', { SF_PASSWORD: 'x' }));
    expect(err.message).toContain('bad.yaml');
    expect(err.issues).toContainEqual({ path: 'connections[0].salesforce.organizationId', message: expect.stringMatching(/Salesforce id/) });
  });

  it('requires a UUID webhook secret (the only format Field Nation accepts), naming the key and the fix', () => {
    const err = errorOf(() => parseConfig(valid, 'c.yaml', { SF_PASSWORD: 'x', FN_SECRET: 'demo-webhook-secret' }));
    expect(err.issues).toEqual([{ path: 'connections[0].fieldnation.webhookSecret', message: expect.stringMatching(/must be a UUID.*broker fieldnation webhook.*FN_WEBHOOK_SECRET/) }]);
    expect(parseConfig(valid, 'c.yaml', { SF_PASSWORD: 'x', FN_SECRET: '01999F51-5C66-4449-B441-6B4A053FEE6A' }).connections[0]!.fieldnation.webhookSecret).toBe('01999F51-5C66-4449-B441-6B4A053FEE6A');
  });

  it('names a missing environment variable at its path', () => {
    const err = errorOf(() => parseConfig(valid, 'c.yaml', {}));
    expect(err.issues).toEqual([{ path: 'connections[0].salesforce.auth.password', message: 'environment variable SF_PASSWORD is not set' }]);
  });

  it('reports YAML syntax errors with a line', () => {
    const err = errorOf(() => parseConfig('connections: [\n  - id: x\n', 'broken.yaml', {}));
    expect(err.message).toMatch(/broken\.yaml/);
  });

  it('rejects duplicate connection ids and objects without a mapping', () => {
    const twice = valid + valid.replace('connections:\n', '').replace('Case: { mapping: mappings/case.yaml }', 'Case: {}');
    const err = errorOf(() => parseConfig(twice, 'dup.yaml', { SF_PASSWORD: 'x' }));
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('connections[1].id');
    expect(paths).toContain('connections[1].objects.Case.mapping');
  });

  it('fails clearly when the file is missing or BROKER_CONFIG is unset', () => {
    expect(errorOf(() => loadConfig(undefined, {})).message).toMatch(/BROKER_CONFIG/);
    expect(errorOf(() => loadConfig('/nonexistent/x.yaml', {})).message).toMatch(/ENOENT/);
  });

  it('loads the shipped example configs', () => {
    const env = {
      SF_ORG_ID: '00D000000000001AAA', SF_CLIENT_ID: 'id', SF_USERNAME: 'u', SF_PRIVATE_KEY: 'k', SF_OM_PATH_TOKEN: 'a-long-path-token-123',
      FN_CLIENT_ID: 'c', FN_CLIENT_SECRET: 's', FN_USERNAME: 'u', FN_PASSWORD: 'p', FN_WEBHOOK_SECRET: '0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a',
    };
    expect(loadConfig(path.join(root, 'config/broker.example.yaml'), env).connections[0]!.id).toBe('acme');
    const demo = loadConfig(path.join(root, 'config/demo.yaml'), {});
    expect(demo.connections[0]!.fieldnation.webhookSecret).toBe('5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f');
  });

  it('leaves the example\'s path token off when SF_OM_PATH_TOKEN is unset, and uses it when set', () => {
    const env = {
      SF_ORG_ID: '00D000000000001AAA', SF_CLIENT_ID: 'id', SF_USERNAME: 'u', SF_PRIVATE_KEY: 'k',
      FN_CLIENT_ID: 'c', FN_CLIENT_SECRET: 's', FN_USERNAME: 'u', FN_PASSWORD: 'p', FN_WEBHOOK_SECRET: '0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a',
    };
    const file = path.join(root, 'config/broker.example.yaml');
    expect(loadConfig(file, env).connections[0]!.salesforce.pathToken).toBeUndefined();
    expect(loadConfig(file, { ...env, SF_OM_PATH_TOKEN: 'a-long-path-token-123' }).connections[0]!.salesforce.pathToken).toBe('a-long-path-token-123');
    // Set but too short is still an error, not silently dropped.
    expect(errorOf(() => loadConfig(file, { ...env, SF_OM_PATH_TOKEN: 'short' })).issues).toEqual([
      { path: 'connections[0].salesforce.pathToken', message: 'use at least 16 characters' },
    ]);
  });

  it('loads from a real file path', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'broker.yaml');
    writeFileSync(file, valid);
    expect(loadConfig(file, { SF_PASSWORD: 'x' }).dir).toBe(dir);
  });
});

describe('unknown keys', () => {
  it('names the file and the path of a misspelt key instead of ignoring it', () => {
    const typo = valid.replace('Case: { mapping: mappings/case.yaml }', 'Case: { mapping: mappings/case.yaml, afterCreate: { pubish: true } }');
    const err = errorOf(() => parseConfig(typo, 'typo.yaml', { SF_PASSWORD: 'x' }));
    expect(err.message).toContain('typo.yaml');
    expect(err.message).toContain('connections[0].objects.Case.afterCreate.pubish: unknown key');
    expect(err.issues).toEqual([{ path: 'connections[0].objects.Case.afterCreate.pubish', message: 'unknown key' }]);
  });

  it.each([
    ['the root', (t: string) => `${t}\nconection: x\n`, 'conection'],
    ['a connection', (t: string) => t.replace('    fieldnation:', '    eventRule: rules.yaml\n    fieldnation:'), 'connections[0].eventRule'],
    ['Salesforce auth', (t: string) => t.replace('username: u', 'username: u\n        securitytoken: t'), 'connections[0].salesforce.auth.securitytoken'],
    ['Salesforce api budget', (t: string) => t.replace('      auth:\n        flow', '      apiBudget: { reservePercent: 5, slowdown: 20 }\n      auth:\n        flow'), 'connections[0].salesforce.apiBudget.slowdown'],
    ['Field Nation auth', (t: string) => t.replace('password: p }', 'password: p, clientSecert: s }'), 'connections[0].fieldnation.auth.clientSecert'],
    ['write-back', (t: string) => t.replace('mapping: mappings/case.yaml }', 'mapping: mappings/case.yaml, writeBack: { workOrderIdFeld: X__c } }'), 'connections[0].objects.Case.writeBack.workOrderIdFeld'],
    ['reconciliation', (t: string) => `${t}    reconciliation: { windowHour: 3 }\n`, 'connections[0].reconciliation.windowHour'],
  ])('in %s', (_where, edit, at) => {
    const err = errorOf(() => parseConfig(edit(valid), 'k.yaml', { SF_PASSWORD: 'x' }));
    expect(err.issues).toContainEqual({ path: at, message: 'unknown key' });
  });

  it('explains a correlation that is neither shape', () => {
    const text = valid.replace('Case: { mapping: mappings/case.yaml }', 'Case: { mapping: mappings/case.yaml, correlation: { incidentID: true } }');
    const err = errorOf(() => parseConfig(text, 'c.yaml', { SF_PASSWORD: 'x' }));
    expect(err.issues).toEqual([{ path: 'connections[0].objects.Case.correlation', message: expect.stringMatching(/incidentId: true.*customFieldId/) }]);
  });

  it('accepts every config shipped in the repository', () => {
    const env = {
      SF_ORG_ID: '00D000000000001AAA', SF_CLIENT_ID: 'id', SF_USERNAME: 'u', SF_PRIVATE_KEY: 'k', SF_OM_PATH_TOKEN: 'a-long-path-token-123',
      FN_CLIENT_ID: 'c', FN_CLIENT_SECRET: 's', FN_USERNAME: 'u', FN_PASSWORD: 'p', FN_WEBHOOK_SECRET: '0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a',
    };
    for (const file of ['config/broker.example.yaml', 'config/demo.yaml', 'deploy/k8s/overlays/example/config/broker.yaml']) {
      expect(loadConfig(path.join(root, file), env).connections.length, file).toBeGreaterThan(0);
    }
  });
});

describe('typed interpolation', () => {
  it('reads numbers from ${VAR} text where a number is expected, and keeps digit-only secrets as text', () => {
    const text = valid.replace('webhookSecret: ${FN_SECRET:-0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a}', 'webhookSecret: ${FN_SECRET:-0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a}\n      integrationUserId: ${FN_USER}\n      requestsPerSecond: ${FN_RPS:-5}');
    const cfg = parseConfig(text, 'x.yaml', { SF_PASSWORD: '12345', FN_USER: '1068' });
    expect(cfg.connections[0]!.fieldnation.integrationUserId).toBe(1068);
    expect(cfg.connections[0]!.fieldnation.requestsPerSecond).toBe(5);
    expect((cfg.connections[0]!.salesforce.auth as { password: string }).password).toBe('12345');
  });
});
