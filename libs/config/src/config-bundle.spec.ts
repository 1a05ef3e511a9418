import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  bundleKey,
  fileConfigLabel,
  hashConfigBundle,
  parseConfigBundle,
  parseRawConfig,
  readConfigBundle,
  readConfigFile,
  type ConfigBundle,
} from './config-bundle';
import { ConfigError } from './config-loader';
import { settingsNeedingRestart } from './config-reload';
import { literalSecrets, secretsInText } from './config-secrets';
import { configSourceOf } from './config-source';

const main = `connections:
  - id: demo
    salesforce:
      organizationId: 00D000000000001AAA
      pathToken: \${SF_OM_PATH_TOKEN}
      auth:
        flow: password
        username: u
        password: \${SF_PASSWORD}
    fieldnation:
      auth:
        clientId: c
        clientSecret: \${FN_CLIENT_SECRET}
        username: u
        password: \${FN_PASSWORD}
      webhookSecret: \${FN_WEBHOOK_SECRET}
    objects:
      Case: { mapping: mappings/case.yaml, trigger: Send__c = true }
    eventRules: ./mappings/events.yaml
`;
const env = {
  SF_OM_PATH_TOKEN: 'tEsT-pAtH-t0ken_0123456789abcdef',
  SF_PASSWORD: 'sf-password-123',
  FN_CLIENT_SECRET: 'fn-client-secret-1',
  FN_PASSWORD: 'fn-password-456',
  FN_WEBHOOK_SECRET: '2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5',
};
const bundle: ConfigBundle = { main, files: { 'mappings/case.yaml': 'title: Subject\n', 'mappings/events.yaml': 'rules: []\n' } };

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config bundles', () => {
  it('reads a config file and the files it names, by their relative paths', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    mkdirSync(path.join(dir, 'mappings'));
    writeFileSync(path.join(dir, 'broker.yaml'), main);
    writeFileSync(path.join(dir, 'mappings/case.yaml'), 'title: Subject\n');
    writeFileSync(path.join(dir, 'mappings/events.yaml'), 'rules: []\n');
    expect(readConfigBundle(path.join(dir, 'broker.yaml'))).toEqual(bundle);
    expect(fileConfigLabel(path.join(dir, 'broker.yaml'))).toMatch(/^file:[0-9a-f]{12}$/);
  });

  it('refuses a named file a stored version could not carry (absolute, outside the folder)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    writeFileSync(
      path.join(dir, 'broker.yaml'),
      main.replace('mappings/case.yaml', '/etc/case.yaml').replace('./mappings/events.yaml', '../x.yaml'),
    );
    expect(issuesOf(() => readConfigBundle(path.join(dir, 'broker.yaml'))).map((i) => i.path)).toEqual([
      'connections[0].objects.Case.mapping',
      'connections[0].eventRules',
    ]);
    expect([bundleKey('a/../b.yaml'), bundleKey('../b.yaml'), bundleKey('/b.yaml'), bundleKey('${DIR}/b.yaml')]).toEqual([
      'b.yaml',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('hashes the content: any change to the main text or a file changes it, key order does not', () => {
    const h = hashConfigBundle(bundle);
    expect(hashConfigBundle({ main, files: { 'mappings/events.yaml': 'rules: []\n', 'mappings/case.yaml': 'title: Subject\n' } })).toBe(h);
    expect(hashConfigBundle({ ...bundle, main: `${main}#\n` })).not.toBe(h);
    expect(hashConfigBundle({ ...bundle, files: { ...bundle.files, 'mappings/case.yaml': 'title: Other\n' } })).not.toBe(h);
  });

  it('validates a bundle with the file loader and reads its files from the bundle, never from disk', () => {
    const config = parseConfigBundle(bundle, 'config-version-3', env);
    expect(config.connections[0]!.fieldnation.auth.password).toBe('fn-password-456');
    expect(readConfigFile(config, 'mappings/case.yaml')).toBe('title: Subject\n');
    expect(readConfigFile(config, './mappings/events.yaml')).toBe('rules: []\n');
    expect(() => readConfigFile(config, 'mappings/other.yaml')).toThrow(/not part of the configuration/);
  });

  it('refuses a bundle missing a named file or carrying one nobody names', () => {
    const issues = issuesOf(() => parseConfigBundle({ main, files: { 'mappings/case.yaml': 'x', 'extra.yaml': 'y' } }, 'v', env));
    expect(issues).toEqual([
      { path: 'connections[0].eventRules', message: 'the file mappings/events.yaml is not part of this configuration' },
      { path: '(files) extra.yaml', message: 'not named by the configuration: remove it' },
    ]);
  });
});

describe('secrets in a stored configuration', () => {
  it('accepts bare ${NAME} references for every secret setting', () => {
    expect(literalSecrets(parseRawConfig(main))).toEqual([]);
  });

  it('refuses a literal secret, a default after the reference, or text around it', () => {
    const text = main
      .replace('password: ${SF_PASSWORD}', 'password: hunter2')
      .replace('${FN_WEBHOOK_SECRET}', '${FN_WEBHOOK_SECRET:-2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5}')
      .replace('${SF_OM_PATH_TOKEN}', 'x${SF_OM_PATH_TOKEN}');
    expect(literalSecrets(parseRawConfig(text))).toEqual([
      { path: 'connections[0].salesforce.auth.password', message: expect.stringMatching(/stays in the environment/) },
      { path: 'connections[0].salesforce.pathToken', message: expect.stringMatching(/\$\{NAME\} alone/) },
      { path: 'connections[0].fieldnation.webhookSecret', message: expect.stringMatching(/\$\{NAME\} alone/) },
    ]);
  });

  it('finds a resolved secret pasted anywhere in the text (a comment, a mapping)', () => {
    const config = parseConfigBundle(bundle, 'v', env);
    const leaked = {
      main: `${main}# old password: sf-password-123\n`,
      files: { ...bundle.files, 'mappings/case.yaml': 'title: fn-password-456\n' },
    };
    expect(secretsInText(leaked, config).map((i) => i.path)).toEqual([
      'connections[0].salesforce.auth.password',
      'connections[0].fieldnation.auth.password',
    ]);
    expect(secretsInText(bundle, config)).toEqual([]);
  });
});

describe('what a new version changes live and what waits for a restart', () => {
  const raw = parseRawConfig(main);
  const edit = (fn: (doc: ReturnType<typeof parseDocument>) => void) => {
    const doc = parseDocument(main);
    fn(doc);
    return doc.toJS();
  };

  it('mappings, triggers, object settings, rules and schedules apply live', () => {
    const after = edit((d) => {
      d.setIn(['connections', 0, 'objects', 'Case', 'trigger'], 'Other__c = true');
      d.setIn(['connections', 0, 'objects', 'Case', 'afterCreate'], { publish: true });
      d.setIn(['connections', 0, 'objects', 'Opportunity'], { mapping: 'mappings/opp.yaml' });
      d.setIn(['connections', 0, 'fieldnation', 'messageType'], 'INTERNAL');
      d.setIn(['retention'], { timelineDays: 30 });
    });
    expect(settingsNeedingRestart(raw, after)).toEqual([]);
  });

  it('credentials, endpoints, ingress settings and the set of connections need a restart', () => {
    const after = edit((d) => {
      d.setIn(['connections', 0, 'salesforce', 'auth', 'username'], 'other');
      d.setIn(['connections', 0, 'fieldnation', 'environment'], 'production');
      d.setIn(['ingress'], { trustProxy: 1 });
      d.addIn(['connections'], { id: 'beta' });
    });
    expect(settingsNeedingRestart(raw, after)).toEqual([
      'ingress',
      'connections (added: beta)',
      'connections[demo].salesforce.auth',
      'connections[demo].fieldnation.environment',
    ]);
  });
});

describe('config source', () => {
  it('is the file by default, the database when asked, and refuses both or neither', () => {
    expect(configSourceOf({ BROKER_CONFIG: '/c.yaml' })).toEqual({ mode: 'file', file: '/c.yaml' });
    expect(configSourceOf({ BROKER_CONFIG_SOURCE: 'database' })).toEqual({ mode: 'database' });
    expect(issuesOf(() => configSourceOf({ BROKER_CONFIG_SOURCE: 'database', BROKER_CONFIG: '/c.yaml' }))[0]!.path).toBe('BROKER_CONFIG');
    expect(issuesOf(() => configSourceOf({}))[0]!.message).toMatch(/BROKER_CONFIG_SOURCE=database/);
    expect(issuesOf(() => configSourceOf({ BROKER_CONFIG_SOURCE: 'redis', BROKER_CONFIG: '/c.yaml' }))[0]!.path).toBe(
      'BROKER_CONFIG_SOURCE',
    );
  });
});
