import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, salesforceJwtAudience, salesforceLoginUrl } from './config-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const valid = `
connections:
  - id: demo
    salesforce:
      organizationId: 00D000000000001AAA
      pathToken: tEsT-pAtH-t0ken_0123456789abcdef
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

/** What the shipped example configs read from the environment. */
const exampleEnv = {
  SF_ORG_ID: '00D000000000001AAA',
  SF_CLIENT_ID: 'id',
  SF_USERNAME: 'u',
  SF_PRIVATE_KEY: 'k',
  SF_OM_PATH_TOKEN: 'Zq8Rw2Lx5Vn7Kp4Hs9Jc_-abcdef01',
  FN_CLIENT_ID: 'c',
  FN_CLIENT_SECRET: 's',
  FN_USERNAME: 'u',
  FN_PASSWORD: 'p',
  FN_WEBHOOK_SECRET: '0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a',
};

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
    expect(err.issues).toContainEqual({
      path: 'connections[0].salesforce.organizationId',
      message: expect.stringMatching(/Salesforce id/),
    });
  });

  it('requires a UUID webhook secret (the only format Field Nation accepts), naming the key and the fix', () => {
    const err = errorOf(() => parseConfig(valid, 'c.yaml', { SF_PASSWORD: 'x', FN_SECRET: 'demo-webhook-secret' }));
    expect(err.issues).toEqual([
      {
        path: 'connections[0].fieldnation.webhookSecret',
        message: expect.stringMatching(/must be a UUID.*broker fieldnation webhook.*FN_WEBHOOK_SECRET/),
      },
    ]);
    expect(
      parseConfig(valid, 'c.yaml', { SF_PASSWORD: 'x', FN_SECRET: '01999F51-5C66-4449-B441-6B4A053FEE6A' }).connections[0]!.fieldnation
        .webhookSecret,
    ).toBe('01999F51-5C66-4449-B441-6B4A053FEE6A');
  });

  it('names a missing environment variable at its path', () => {
    const err = errorOf(() => parseConfig(valid, 'c.yaml', {}));
    expect(err.issues).toEqual([
      { path: 'connections[0].salesforce.auth.password', message: 'environment variable SF_PASSWORD is not set' },
    ]);
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
    const env = exampleEnv;
    expect(loadConfig(path.join(root, 'config/broker.example.yaml'), env).connections[0]!.id).toBe('acme');
    const demo = loadConfig(path.join(root, 'config/demo.yaml'), { SF_OM_PATH_TOKEN: 'Zq8Rw2Lx5Vn7Kp4Hs9Jc_-abcdef01' });
    expect(demo.connections[0]!.fieldnation.webhookSecret).toBe('5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f');
  });

  it("requires the example's path token, and refuses one too weak for 128 bits", () => {
    const env = { ...exampleEnv, SF_OM_PATH_TOKEN: undefined };
    const file = path.join(root, 'config/broker.example.yaml');
    expect(errorOf(() => loadConfig(file, env)).issues).toEqual([
      { path: 'connections[0].salesforce.pathToken', message: 'environment variable SF_OM_PATH_TOKEN is not set' },
    ]);
    const token = 'Zq8Rw2Lx5Vn7Kp4Hs9Jc_-abcdef01';
    expect(loadConfig(file, { ...env, SF_OM_PATH_TOKEN: token }).connections[0]!.salesforce.pathToken).toBe(token);
    for (const [weak, why] of [
      ['a-long-path-token-123', /too short for 128 bits/],
      ['0123456789abcdef0123456789abcde', /too short for 128 bits/],
      ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', /too few distinct characters/],
      ['has/slash/and+plus/0123456789', /only letters, digits, - and _/],
    ] as const) {
      expect(errorOf(() => loadConfig(file, { ...env, SF_OM_PATH_TOKEN: weak })).issues, weak).toEqual([
        { path: 'connections[0].salesforce.pathToken', message: expect.stringMatching(why) },
      ]);
    }
    expect(loadConfig(file, { ...env, SF_OM_PATH_TOKEN: '0123456789abcdef0123456789abcdef' }).connections).toHaveLength(1);
  });

  it('accepts no path token only with the explicitly unsafe opt-out, and checks the network settings', () => {
    const base = valid.replace(/\n\s*pathToken: .*/, '');
    expect(errorOf(() => parseConfig(base, 'c.yaml', { SF_PASSWORD: 'x' })).issues).toEqual([
      {
        path: 'connections[0].salesforce.pathToken',
        message: expect.stringMatching(/^required: .*`broker salesforce path-token`.*unsafeAllowNoPathToken: true/),
      },
    ]);
    const open = base.replace(
      '      organizationId: 00D000000000001AAA',
      '      organizationId: 00D000000000001AAA\n      unsafeAllowNoPathToken: true',
    );
    expect(parseConfig(open, 'c.yaml', { SF_PASSWORD: 'x' }).connections[0]!.salesforce.pathToken).toBeUndefined();
    const guarded =
      valid.replace(
        '      organizationId: 00D000000000001AAA',
        [
          '      organizationId: 00D000000000001AAA',
          '      allowedSourceNetworks: [13.108.0.0/14, "2001:db8::/32", 10.0.0.1]',
          '      clientCertificate: { sha256Fingerprints: ["AB:CD:' + 'ef:'.repeat(29) + 'EF"] }',
        ].join('\n'),
      ) + 'ingress: { trustProxy: 1, clientCertificateHeader: X-Client-Cert }\n';
    const cfg = parseConfig(guarded, 'c.yaml', { SF_PASSWORD: 'x' });
    expect(cfg.connections[0]!.salesforce.clientCertificate?.sha256Fingerprints?.[0]).toBe('abcd' + 'ef'.repeat(30));
    expect(cfg.ingress).toEqual({ trustProxy: 1, clientCertificateHeader: 'x-client-cert' });
    const bad =
      valid.replace(
        '      organizationId: 00D000000000001AAA',
        '      organizationId: 00D000000000001AAA\n      allowedSourceNetworks: [13.108.0.0/33]',
      ) + 'ingress: { clientCertificateHeader: X-Client-Cert }\n';
    expect(errorOf(() => parseConfig(bad, 'c.yaml', { SF_PASSWORD: 'x' })).issues).toEqual([
      { path: 'connections[0].salesforce.allowedSourceNetworks[0]', message: 'a network like 13.108.0.0/14 or 2001:db8::/32' },
      { path: 'ingress.clientCertificateHeader', message: 'clientCertificateHeader needs trustProxy (only a trusted proxy may set it)' },
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
    const typo = valid.replace(
      'Case: { mapping: mappings/case.yaml }',
      'Case: { mapping: mappings/case.yaml, afterCreate: { pubish: true } }',
    );
    const err = errorOf(() => parseConfig(typo, 'typo.yaml', { SF_PASSWORD: 'x' }));
    expect(err.message).toContain('typo.yaml');
    expect(err.message).toContain('connections[0].objects.Case.afterCreate.pubish: unknown key');
    expect(err.issues).toEqual([{ path: 'connections[0].objects.Case.afterCreate.pubish', message: 'unknown key' }]);
  });

  it.each([
    ['the root', (t: string) => `${t}\nconection: x\n`, 'conection'],
    [
      'a connection',
      (t: string) => t.replace('    fieldnation:', '    eventRule: rules.yaml\n    fieldnation:'),
      'connections[0].eventRule',
    ],
    [
      'Salesforce auth',
      (t: string) => t.replace('username: u', 'username: u\n        securitytoken: t'),
      'connections[0].salesforce.auth.securitytoken',
    ],
    [
      'Salesforce api budget',
      (t: string) =>
        t.replace('      auth:\n        flow', '      apiBudget: { reservePercent: 5, slowdown: 20 }\n      auth:\n        flow'),
      'connections[0].salesforce.apiBudget.slowdown',
    ],
    [
      'Field Nation auth',
      (t: string) => t.replace('password: p }', 'password: p, clientSecert: s }'),
      'connections[0].fieldnation.auth.clientSecert',
    ],
    [
      'write-back',
      (t: string) => t.replace('mapping: mappings/case.yaml }', 'mapping: mappings/case.yaml, writeBack: { workOrderIdFeld: X__c } }'),
      'connections[0].objects.Case.writeBack.workOrderIdFeld',
    ],
    ['reconciliation', (t: string) => `${t}    reconciliation: { windowHour: 3 }\n`, 'connections[0].reconciliation.windowHour'],
  ])('in %s', (_where, edit, at) => {
    const err = errorOf(() => parseConfig(edit(valid), 'k.yaml', { SF_PASSWORD: 'x' }));
    expect(err.issues).toContainEqual({ path: at, message: 'unknown key' });
  });

  it('explains a correlation that is neither shape', () => {
    const text = valid.replace(
      'Case: { mapping: mappings/case.yaml }',
      'Case: { mapping: mappings/case.yaml, correlation: { incidentID: true } }',
    );
    const err = errorOf(() => parseConfig(text, 'c.yaml', { SF_PASSWORD: 'x' }));
    expect(err.issues).toEqual([
      { path: 'connections[0].objects.Case.correlation', message: expect.stringMatching(/incidentId: true.*customFieldId/) },
    ]);
  });

  it('accepts every config shipped in the repository', () => {
    const env = exampleEnv;
    for (const file of ['config/broker.example.yaml', 'config/demo.yaml', 'deploy/k8s/overlays/example/config/broker.yaml']) {
      expect(loadConfig(path.join(root, file), env).connections.length, file).toBeGreaterThan(0);
    }
  });
});

describe('typed interpolation', () => {
  it('reads numbers from ${VAR} text where a number is expected, and keeps digit-only secrets as text', () => {
    const text = valid.replace(
      'webhookSecret: ${FN_SECRET:-0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a}',
      'webhookSecret: ${FN_SECRET:-0b8d6e4f-2a1c-4d3e-9f5a-7b9c1d3e5f7a}\n      integrationUserId: ${FN_USER}\n      requestsPerSecond: ${FN_RPS:-5}',
    );
    const cfg = parseConfig(text, 'x.yaml', { SF_PASSWORD: '12345', FN_USER: '1068' });
    expect(cfg.connections[0]!.fieldnation.integrationUserId).toBe(1068);
    expect(cfg.connections[0]!.fieldnation.requestsPerSecond).toBe(5);
    expect((cfg.connections[0]!.salesforce.auth as { password: string }).password).toBe('12345');
  });
});

describe('trigger conditions', () => {
  const withTrigger = (trigger: string) =>
    valid.replace('Case: { mapping: mappings/case.yaml }', `Case: { mapping: mappings/case.yaml, trigger: ${JSON.stringify(trigger)} }`);

  it('accepts a SOQL condition', () => {
    const cfg = parseConfig(withTrigger("Send_to_Field_Nation__c = true AND Status IN ('New', 'Working')"), 't.yaml', { SF_PASSWORD: 'x' });
    expect(cfg.connections[0]!.objects.Case!.trigger).toMatch(/^Send_to_Field_Nation__c/);
  });

  it.each([
    ['a second statement', 'Send_to_Field_Nation__c = true; DELETE FROM Case', /";" is not SOQL/],
    ['a condition that escapes its parentheses', 'Send_to_Field_Nation__c = true) OR (Id != null', /unbalanced "\)"/],
    ['an unclosed quote', "Subject = 'x", /not closed/],
    ['a LIMIT', 'Send_to_Field_Nation__c = true LIMIT 1', /LIMIT is not allowed/],
    ['an ORDER BY', 'Send_to_Field_Nation__c = true ORDER BY CreatedDate', /ORDER is not allowed/],
  ])('refuses %s, naming the connection, the object and the fix', (_what, trigger, reason) => {
    const err = errorOf(() => parseConfig(withTrigger(trigger), 't.yaml', { SF_PASSWORD: 'x' }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('connections[0].objects.Case.trigger');
    expect(err.issues[0]!.message).toMatch(reason);
    expect(err.issues[0]!.message).toContain('connection "demo", object Case');
    expect(err.issues[0]!.message).toContain('e.g. "Send_to_Field_Nation__c = true"');
    expect(err.message).toContain('t.yaml');
  });
});

describe('retention', () => {
  it('defaults to 90 days of timeline and 30 days of inbound ledger, deleted 5,000 rows at a time', () => {
    expect(parseConfig(valid, 'r.yaml', { SF_PASSWORD: 'x' }).retention).toEqual({
      enabled: true,
      timelineDays: 90,
      inboundLedgerDays: 30,
      every: '23 3 * * *',
      batchSize: 5000,
    });
  });

  it('reads overrides, from ${VAR} text too', () => {
    const cfg = parseConfig(`${valid}retention: { timelineDays: "\${TL_DAYS}", inboundLedgerDays: 7 }\n`, 'r.yaml', {
      SF_PASSWORD: 'x',
      TL_DAYS: '30',
    });
    expect(cfg.retention).toMatchObject({ timelineDays: 30, inboundLedgerDays: 7 });
  });

  it('refuses a ledger kept shorter than Salesforce redelivers, and unknown keys', () => {
    const short = errorOf(() => parseConfig(`${valid}retention: { inboundLedgerDays: 1 }\n`, 'r.yaml', { SF_PASSWORD: 'x' }));
    expect(short.issues).toEqual([{ path: 'retention.inboundLedgerDays', message: expect.stringMatching(/24 hours/) }]);
    const typo = errorOf(() => parseConfig(`${valid}retention: { timelineDay: 3 }\n`, 'r.yaml', { SF_PASSWORD: 'x' }));
    expect(typo.issues).toEqual([{ path: 'retention.timelineDay', message: 'unknown key' }]);
  });
});

describe('Salesforce auth as Salesforce does it', () => {
  const withSf = (instance: string, auth: string, apiVersion = '62.0') =>
    valid
      .replace('      organizationId:', `      instance: ${instance}\n      apiVersion: "${apiVersion}"\n      organizationId:`)
      .replace(/      auth:\n        flow: password\n        username: u\n        password: \$\{SF_PASSWORD\}\n/, `      auth: ${auth}\n`);
  const cc = '{ flow: client-credentials, clientId: id, clientSecret: secret }';

  it.each(['production', 'test', 'https://login.salesforce.com', 'https://test.salesforce.com/'])(
    'refuses client credentials on %s, naming the key and the fix',
    (instance) => {
      const err = errorOf(() => parseConfig(withSf(instance, cc), 'cc.yaml', {}));
      expect(err.issues).toEqual([
        {
          path: 'connections[0].salesforce.instance',
          message: expect.stringMatching(/client credentials.*My Domain.*salesforce\.instance.*my\.salesforce\.com/),
        },
      ]);
    },
  );

  it('accepts client credentials on a My Domain', () => {
    const cfg = parseConfig(withSf('https://acme.my.salesforce.com', cc), 'cc.yaml', {});
    expect(cfg.connections[0]!.salesforce.auth.flow).toBe('client-credentials');
  });

  it('refuses SOAP login() (flow password) from API 65.0, telling which flow to use', () => {
    const pw = '{ flow: password, username: u, password: p }';
    const err = errorOf(() => parseConfig(withSf('production', pw, '65.0'), 'soap.yaml', {}));
    expect(err.issues).toEqual([
      {
        path: 'connections[0].salesforce.apiVersion',
        message: expect.stringMatching(/login\(\).*65\.0.*"64\.0" or lower.*jwt or client-credentials/),
      },
    ]);
    expect(parseConfig(withSf('production', pw, '64.0'), 'soap.yaml', {}).connections[0]!.salesforce.apiVersion).toBe('64.0');
    expect(
      parseConfig(withSf('production', '{ flow: jwt, clientId: id, username: u, privateKey: k }', '66.0'), 'jwt.yaml', {}).connections,
    ).toHaveLength(1);
  });

  it('has timeouts with defaults, read from ${VAR} text', () => {
    expect(parseConfig(valid, 'x.yaml', { SF_PASSWORD: 'x' }).connections[0]!.salesforce.timeouts).toEqual({
      connectMs: 10_000,
      requestMs: 60_000,
    });
    const text = valid.replace(
      '      organizationId:',
      '      timeouts: { connectMs: "${SF_CONNECT_MS}", requestMs: 5000 }\n      organizationId:',
    );
    expect(parseConfig(text, 'x.yaml', { SF_PASSWORD: 'x', SF_CONNECT_MS: '2000' }).connections[0]!.salesforce.timeouts).toEqual({
      connectMs: 2000,
      requestMs: 5000,
    });
  });

  it.each([
    ['production', undefined, 'https://login.salesforce.com', 'https://login.salesforce.com'],
    ['test', undefined, 'https://test.salesforce.com', 'https://test.salesforce.com'],
    ['https://acme.my.salesforce.com', undefined, 'https://acme.my.salesforce.com', 'https://login.salesforce.com'],
    [
      'https://acme--uat.sandbox.my.salesforce.com/',
      undefined,
      'https://acme--uat.sandbox.my.salesforce.com',
      'https://test.salesforce.com',
    ],
    ['https://acme.my.site.com', undefined, 'https://acme.my.site.com', 'https://acme.my.site.com'],
    ['https://acme.force.com/customers', undefined, 'https://acme.force.com/customers', 'https://acme.force.com/customers'],
    ['https://acme.my.salesforce.com', 'https://acme.my.site.com/', 'https://acme.my.salesforce.com', 'https://acme.my.site.com'],
  ])('instance %s (audience %s): token endpoint host %s, JWT aud %s', (instance, audience, tokenHost, aud) => {
    expect(salesforceLoginUrl(instance)).toBe(tokenHost);
    expect(salesforceJwtAudience(instance, audience)).toBe(aud);
  });
});
