// The configuration versions against a real PostgreSQL (and Redis for the notification).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ConfigError } from '@broker/config';
import { createPrisma, type PrismaClient } from '@broker/store';
import { bundleOf, caseMapping, createTestDatabase, redisUrl, SECRETS_ENV, type TestDatabase } from '@broker/testing';
import {
  ConfigConflictError,
  ConfigVersionNotFoundError,
  configChannel,
  createConfigStore,
  loadActiveConfig,
  publishConfigVersion,
  watchConfigVersions,
  type ConfigVersion,
} from '../src';

let db: TestDatabase;
let prisma: PrismaClient;
const validate = { env: SECRETS_ENV };

beforeAll(async () => {
  db = await createTestDatabase('configstore');
  prisma = createPrisma(db.url, { max: 4 });
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

const issuesOf = async (p: Promise<unknown>): Promise<ConfigError['issues']> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('config store', () => {
  it('numbers versions, keeps who/when/message, diffs against the previous one, and rolls back as a new version', async () => {
    await prisma.configVersion.deleteMany();
    const store = createConfigStore(prisma);
    expect(await store.current()).toBeNull();

    const v1 = await store.save({ bundle: bundleOf('A'), author: 'alice', message: 'first', basedOn: null, validate });
    expect(v1).toMatchObject({
      created: true,
      restartNeeded: [],
      version: { version: 1, createdBy: 'alice', message: 'first', restoredFrom: null },
    });
    expect(v1.version.diff).toContain('+++ b/broker.yaml');
    expect(v1.version.hash).toMatch(/^[0-9a-f]{64}$/);

    const v2 = await store.save({ bundle: bundleOf('B'), author: 'bob', basedOn: 1, validate });
    expect(v2.version.version).toBe(2);
    // Only the mapping changed: the diff names that file and that line.
    expect(v2.version.diff).toBe(
      [
        '--- a/mappings/case.yaml',
        '+++ b/mappings/case.yaml',
        '@@ -1,5 +1,5 @@',
        ' object: Case',
        ' fields:',
        '   title:',
        '-    template: "A {{Subject}}"',
        '+    template: "B {{Subject}}"',
        '     required: true',
        '',
      ].join('\n'),
    );

    const back = await store.rollback({ to: 1, author: 'carol', basedOn: 2, validate });
    expect(back.version).toMatchObject({ version: 3, restoredFrom: 1, message: 'rollback to version 1', createdBy: 'carol' });
    expect(back.version.bundle).toEqual(v1.version.bundle);
    expect(back.version.hash).toBe(v1.version.hash);

    expect((await store.list()).map((v) => [v.version, v.createdBy])).toEqual([
      [3, 'carol'],
      [2, 'bob'],
      [1, 'alice'],
    ]);
    expect((await store.export())!.version).toBe(3);
    expect((await store.export(2))!.bundle.files['mappings/case.yaml']).toBe(caseMapping('B'));
    await expect(store.export(9)).rejects.toBeInstanceOf(ConfigVersionNotFoundError);
    await expect(store.rollback({ to: 9, author: 'x', validate })).rejects.toBeInstanceOf(ConfigVersionNotFoundError);
  });

  it('stores nothing when the content equals the version in force', async () => {
    const store = createConfigStore(prisma);
    const current = (await store.current())!;
    const again = await store.save({ bundle: current.bundle, author: 'dave', validate });
    expect(again).toMatchObject({ created: false, version: { version: current.version } });
    expect((await store.current())!.version).toBe(current.version);
  });

  it('refuses an edit of a version that is no longer in force (two editors at once)', async () => {
    const store = createConfigStore(prisma);
    const current = (await store.current())!.version;
    await store.save({ bundle: bundleOf('C'), author: 'erin', basedOn: current, validate });
    const err = await store.save({ bundle: bundleOf('D'), author: 'frank', basedOn: current, validate }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigConflictError);
    expect((err as ConfigConflictError).current).toBe(current + 1);
    expect((await store.current())!.bundle.files['mappings/case.yaml']).toBe(caseMapping('C'));
  });

  it('gives concurrent saves distinct numbers', async () => {
    const store = createConfigStore(prisma);
    const before = (await store.current())!.version;
    const results = await Promise.all(['E', 'F', 'G'].map((l) => store.save({ bundle: bundleOf(l), author: l, validate })));
    expect(results.map((r) => r.version.version).sort()).toEqual([before + 1, before + 2, before + 3]);
  });

  it('refuses an invalid version and stores nothing: schema, mapping, missing file, missing variable', async () => {
    const store = createConfigStore(prisma);
    const before = (await store.current())!.version;
    const bad = bundleOf('H', { trigger: 'Send__c = true; DELETE' });
    bad.files['mappings/case.yaml'] = 'object: Case\nfields:\n  title:\n    frm: Subject\n';
    const issues = await issuesOf(store.save({ bundle: bad, author: 'mallory', validate }));
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['connections[0].objects.Case.trigger', expect.stringMatching(/^mappings\/case\.yaml: /)]),
    );
    const missing = bundleOf('H');
    delete (missing.files as Record<string, string>)['mappings/events.yaml'];
    expect(await issuesOf(store.save({ bundle: missing, author: 'mallory', validate }))).toContainEqual({
      path: 'connections[0].eventRules',
      message: 'the file mappings/events.yaml is not part of this configuration',
    });
    const { CS_FN_PASSWORD: _unset, ...withoutPassword } = SECRETS_ENV;
    expect(await issuesOf(store.save({ bundle: bundleOf('H'), author: 'mallory', validate: { env: withoutPassword } }))).toContainEqual({
      path: 'connections[0].fieldnation.auth.password',
      message: 'environment variable CS_FN_PASSWORD is not set',
    });
    expect((await store.current())!.version).toBe(before);
  });

  it('resolves catalogue names against the catalogues the caller fetched, and refuses them without', async () => {
    const store = createConfigStore(prisma);
    const before = (await store.current())!.version;
    const named = bundleOf('N');
    named.files['mappings/case.yaml'] = `${caseMapping('N')}  template.id: { value: { template: POS Replacement } }\n`;
    const unchecked = await issuesOf(store.save({ bundle: named, author: 'alice', validate }));
    expect(unchecked).toEqual([{ path: 'mappings/case.yaml: template.id', message: expect.stringContaining('no Field Nation lookup') }]);
    const wrongCompany = new Map([['other', { templates: [{ id: 433, name: 'POS Replacement' }] }]]);
    expect(
      await issuesOf(store.save({ bundle: named, author: 'alice', validate: { ...validate, catalogues: wrongCompany } })),
    ).toHaveLength(1);
    const unknown = new Map([['demo', { templates: [{ id: 434, name: 'Network Drop' }] }]]);
    expect(await issuesOf(store.save({ bundle: named, author: 'alice', validate: { ...validate, catalogues: unknown } }))).toEqual([
      { path: 'mappings/case.yaml: template.id', message: expect.stringContaining('no template named "POS Replacement"') },
    ]);
    expect((await store.current())!.version).toBe(before);
    const catalogues = new Map([['demo', { templates: [{ id: 433, name: 'POS Replacement' }] }]]);
    const saved = await store.save({ bundle: named, author: 'alice', validate: { ...validate, catalogues } });
    expect(saved.version.version).toBe(before + 1);
    // What is stored is the name as written: each loader resolves it against Field Nation again.
    expect(saved.version.bundle.files['mappings/case.yaml']).toContain('POS Replacement');
  });

  it('can check a version where a variable is missing (unsetEnv allow), skipping only what it fills', async () => {
    const store = createConfigStore(prisma);
    const { CS_FN_WEBHOOK_SECRET: _a, CS_SF_PATH_TOKEN: _b, ...partial } = SECRETS_ENV;
    const saved = await store.save({ bundle: bundleOf('I'), author: 'ops', validate: { env: partial, unsetEnv: 'allow' } });
    expect(saved.unsetVariables).toEqual(['CS_FN_WEBHOOK_SECRET', 'CS_SF_PATH_TOKEN']);
    // Everything else is still checked.
    const bad = bundleOf('J', { trigger: 'A = 1 LIMIT 1' });
    expect(
      (await issuesOf(store.save({ bundle: bad, author: 'ops', validate: { env: partial, unsetEnv: 'allow' } }))).map((i) => i.path),
    ).toEqual(['connections[0].objects.Case.trigger']);
  });

  it('never stores a secret: a literal one, a default, or a resolved value pasted in the text', async () => {
    const store = createConfigStore(prisma);
    const before = (await store.current())!.version;
    const literal = bundleOf('K');
    literal.main = literal.main
      .replace('${CS_SF_PASSWORD}', 'sf-password-0123')
      .replace('${CS_FN_WEBHOOK_SECRET}', '${CS_FN_WEBHOOK_SECRET:-2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5}');
    expect((await issuesOf(store.save({ bundle: literal, author: 'x', validate }))).map((i) => i.path)).toEqual(
      expect.arrayContaining(['connections[0].salesforce.auth.password', 'connections[0].fieldnation.webhookSecret']),
    );
    const pasted = bundleOf('K');
    pasted.files['mappings/case.yaml'] = `# the password is fn-password-0123\n${pasted.files['mappings/case.yaml']}`;
    expect(await issuesOf(store.save({ bundle: pasted, author: 'x', validate }))).toContainEqual({
      path: 'connections[0].fieldnation.auth.password',
      message: expect.stringMatching(/appears in mappings\/case\.yaml/),
    });
    expect((await store.current())!.version).toBe(before);
    // Nothing stored anywhere holds a secret's value.
    const rows = await prisma.configVersion.findMany();
    const stored = JSON.stringify(rows);
    for (const secret of Object.values(SECRETS_ENV)) expect(stored).not.toContain(secret);
  });

  it('reports the settings a version changes that wait for a restart', async () => {
    const store = createConfigStore(prisma);
    const saved = await store.save({ bundle: bundleOf('L', { username: 'other@example.com' }), author: 'x', validate });
    expect(saved.restartNeeded).toEqual(['connections[demo].salesforce.auth']);
    expect((await store.get(saved.version.version))!.restartNeeded).toEqual(['connections[demo].salesforce.auth']);
  });

  it('loads the version in force as the apps do, and says so when none is stored', async () => {
    const active = await loadActiveConfig({ mode: 'database' }, { prisma, env: SECRETS_ENV });
    const current = (await createConfigStore(prisma).current())!;
    expect(active.label).toBe(String(current.version));
    expect(active.config.connections[0]!.salesforce.auth).toMatchObject({ password: 'sf-password-0123' });
    const empty = await createTestDatabase('configstore_empty');
    try {
      expect((await issuesOf(loadActiveConfig({ mode: 'database' }, { databaseUrl: empty.url, env: SECRETS_ENV })))[0]!.message).toMatch(
        /broker config import/,
      );
    } finally {
      await empty.drop();
    }
  });
});

describe('config watch', () => {
  it('finds a new version by the Redis message at once, and by the periodic check when the message is missed', async () => {
    const redis = new Redis(redisUrl());
    const prefix = `cw${Date.now().toString(36)}`;
    let inForce = (await createConfigStore(prisma).current())!.version;
    const applied: number[] = [];
    const waitFor = async (n: number, ms: number) => {
      const end = Date.now() + ms;
      while (!applied.includes(n) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return applied.includes(n);
    };
    const watch = watchConfigVersions({
      prisma,
      redis,
      prefix,
      intervalMs: 1_500,
      current: () => inForce,
      apply: (v: ConfigVersion) => {
        if (v.bundle.files['mappings/case.yaml']!.includes('REFUSE')) throw new Error('refused here');
        applied.push(v.version);
        inForce = v.version;
      },
      logger: { info: () => undefined, warn: () => undefined },
    });
    try {
      await new Promise((r) => setTimeout(r, 200)); // the subscription is set up
      const notified = createConfigStore(prisma, { notify: (v) => publishConfigVersion(redis, prefix, v) });
      const started = Date.now();
      const a = await notified.save({ bundle: bundleOf('M'), author: 'x', validate });
      expect(a.notified).toBe(true);
      expect(await waitFor(a.version.version, 1_000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000); // well before the periodic check

      // Saved without a message: the periodic check finds it.
      const b = await createConfigStore(prisma).save({ bundle: bundleOf('N'), author: 'x', validate });
      expect(applied).not.toContain(b.version.version);
      expect(await waitFor(b.version.version, 4_000)).toBe(true);

      // One this process refuses is not offered again; the next one is.
      const refused = await notified.save({ bundle: bundleOf('REFUSE'), author: 'x', validate });
      await watch.check();
      await watch.check();
      expect(applied).not.toContain(refused.version.version);
      expect(inForce).toBe(b.version.version);
      const c = await notified.save({ bundle: bundleOf('O'), author: 'x', validate });
      expect(await waitFor(c.version.version, 2_000)).toBe(true);
      expect(configChannel(prefix)).toBe(`${prefix}:config-version`);
    } finally {
      await watch.close();
      redis.disconnect();
    }
  });
});
