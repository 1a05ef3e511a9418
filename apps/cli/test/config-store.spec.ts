// broker config import / export / history / rollback against a real PostgreSQL (and Redis for the
// announcement): files → database → files gives back the same text.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { configChannel, createConfigStore, type ConfigStore } from '@broker/config-store';
import { createPrisma, type PrismaClient } from '@broker/store';
import { bundleOf, createTestDatabase, redisUrl, SECRETS_ENV, serversForFile, type TestDatabase } from '@broker/testing';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim } from '../../fieldnation-sim/src/index';
import type { ConfigBundle } from '@broker/config';
import { CliError } from '../src/cli-io';
import { configExportCommand, configHistoryCommand, configImportCommand, configRollbackCommand } from '../src/config-store.command';
import { captureIo, freshPrefix, tmpDir } from './cli-test-kit';

const root = path.resolve(import.meta.dirname, '../../..');
const sims = serversForFile({
  fn: () => startFieldNationSim({ port: 0, logger: createLogger({ service: 'fn-sim', level: 'silent' }), rateLimit: false }),
});
let db: TestDatabase;
let prisma: PrismaClient;
let store: ConfigStore;

beforeAll(async () => {
  db = await createTestDatabase('cliconfig');
  prisma = createPrisma(db.url, { max: 2 });
  store = createConfigStore(prisma);
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

/** A config folder as an operator keeps it: broker.yaml and mappings/ beside it. */
function writeFolder(bundle: ConfigBundle): string {
  const dir = tmpDir('config');
  writeFileSync(path.join(dir, 'broker.yaml'), bundle.main);
  for (const [name, text] of Object.entries(bundle.files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return path.join(dir, 'broker.yaml');
}

describe('broker config import/export', () => {
  it('imports a config folder as version 1 through the CLI and announces it on Redis', async () => {
    const prefix = freshPrefix('ci');
    const subscriber = new Redis(redisUrl());
    const heard: string[] = [];
    await subscriber.subscribe(configChannel(prefix));
    subscriber.on('message', (_c, m: string) => heard.push(m));
    try {
      const { stdout } = await promisify(execFile)(
        path.join(root, 'node_modules/.bin/tsx'),
        ['apps/cli/src/main.ts', 'config', 'import', writeFolder(bundleOf('A')), '--author', 'ops', '-m', 'go live'],
        { cwd: root, env: { PATH: process.env.PATH, DATABASE_URL: db.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, ...SECRETS_ENV } },
      );
      expect(stdout).toMatch(/^stored configuration version 1 \([0-9a-f]{12}\) by ops\nthe running apps were told/);
      const end = Date.now() + 2_000;
      while (heard.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual(['1']);
      expect(await store.current()).toMatchObject({ version: 1, createdBy: 'ops', message: 'go live', bundle: bundleOf('A') });
    } finally {
      subscriber.disconnect();
    }
  });

  it('exports a version to a folder that imports back unchanged, and prints the YAML without --out', async () => {
    const out = tmpDir('export');
    const io = captureIo();
    expect(await configExportCommand(store, { out }, io)).toBe(0);
    expect(readFileSync(path.join(out, 'broker.yaml'), 'utf8')).toBe(bundleOf('A').main);
    expect(readFileSync(path.join(out, 'mappings/case.yaml'), 'utf8')).toBe(bundleOf('A').files['mappings/case.yaml']);
    const again = captureIo();
    expect(await configImportCommand(path.join(out, 'broker.yaml'), store, { author: 'ops' }, again, SECRETS_ENV)).toBe(0);
    expect(again.stdout).toEqual(['unchanged: version 1 (in force) already has this content; nothing stored']);

    const printed = captureIo();
    expect(await configExportCommand(store, { version: 1 }, printed)).toBe(0);
    expect(printed.stdout).toEqual([bundleOf('A').main]);
    expect(printed.stderr).toEqual(['version 1 also holds mappings/case.yaml, mappings/events.yaml: use --out <dir> to write them too']);
  });

  it('refuses a config with a secret written in it, and one whose mapping is broken: nothing stored, every problem named', async () => {
    const literal = bundleOf('B');
    literal.main = literal.main.replace('${CS_FN_PASSWORD}', 'fn-password-0123');
    await expect(configImportCommand(writeFolder(literal), store, {}, captureIo(), SECRETS_ENV)).rejects.toThrow(
      /connections\[0\]\.fieldnation\.auth\.password: a secret stays in the environment/,
    );
    const broken = bundleOf('B');
    broken.files['mappings/case.yaml'] = 'object: Case\nfields:\n  title: { from: Subject, transform: [nope] }\n';
    const err = await configImportCommand(writeFolder(broken), store, {}, captureIo(), SECRETS_ENV).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/mappings\/case\.yaml: title/);
    expect((await store.current())!.version).toBe(1);
  });

  it('lists the history and rolls back', async () => {
    expect(
      await configImportCommand(
        writeFolder(bundleOf('C', { username: 'x@example.com' })),
        store,
        { author: 'bob' },
        captureIo(),
        SECRETS_ENV,
      ),
    ).toBe(0);
    const rolled = captureIo();
    expect(await configRollbackCommand(1, store, { author: 'carol' }, rolled, SECRETS_ENV)).toBe(0);
    expect(rolled.stdout[0]).toMatch(/^stored configuration version 3 \([0-9a-f]{12}\) by carol, restoring version 1$/);
    expect(rolled.stderr).toEqual(['these settings apply only after the apps restart: connections[demo].salesforce.auth']);
    const history = captureIo();
    await configHistoryCommand(store, {}, history);
    const lines = history.stdout[0]!.split('\n');
    expect(lines[0]).toMatch(/^version\s+saved\s+by\s+hash\s+message\s+restart needed$/);
    expect(lines.slice(2).map((l) => l.split(/\s{2,}/)[0])).toEqual(['3 (in force)', '2', '1']);
    expect(lines[2]).toMatch(/carol .*rollback to version 1/);
    await expect(configRollbackCommand(42, store, {}, captureIo(), SECRETS_ENV)).rejects.toThrow('there is no configuration version 42');
  });

  it('resolves the names a mapping uses (typeOfWork: "Point of Sale") against Field Nation on import and rollback', async () => {
    // The simulator's buyer: the stored version keeps the secrets as ${ENV} references.
    const env = { ...SECRETS_ENV, CS_FN_CLIENT_SECRET: 'fn-sim-secret', CS_FN_PASSWORD: 'sim-password' };
    const named = (typeOfWork: string): ConfigBundle => {
      const b = bundleOf('N');
      return {
        main: b.main.replace('https://fieldnation.example.com', sims.fn.url).replace('clientId: fn-client', 'clientId: fn-sim-client'),
        files: {
          ...b.files,
          'mappings/case.yaml': `${b.files['mappings/case.yaml']}  types_of_work:\n    value: [{ id: { typeOfWork: "${typeOfWork}" }, isPrimary: true }]\n`,
        },
      };
    };
    const imported = captureIo();
    expect(await configImportCommand(writeFolder(named('Point of Sale')), store, { author: 'dana' }, imported, env)).toBe(0);
    const version = (await store.current())!.version;
    expect(imported.stdout[0]).toMatch(new RegExp(`^stored configuration version ${version} `));
    // An unknown name is refused with the close candidate, and nothing is stored.
    const err = await configImportCommand(writeFolder(named('Point of Sael')), store, {}, captureIo(), env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/no type of work named "Point of Sael".*close: "Point of Sale"/s);
    expect((await store.current())!.version).toBe(version);
    // A rollback to the named version resolves its names again.
    await configImportCommand(writeFolder(bundleOf('D')), store, {}, captureIo(), SECRETS_ENV);
    expect(await configRollbackCommand(version, store, { author: 'dana' }, captureIo(), env)).toBe(0);
    expect((await store.current())!.restoredFrom).toBe(version);
  });
});

describe('commands that read the configuration, with BROKER_CONFIG_SOURCE=database', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['apps/cli/src/main.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, REDIS_URL: redisUrl(), ...SECRETS_ENV, ...env },
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);

  it('generate from the version in force, not from a file', async () => {
    await configImportCommand(writeFolder(bundleOf('M', { trigger: "Priority = 'High'" })), store, {}, captureIo(), SECRETS_ENV);
    const out = tmpDir('meta-db');
    const res = await cli(['salesforce', 'metadata', '--endpoint', 'https://broker.example.com/', '--out', out], {
      BROKER_CONFIG_SOURCE: 'database',
    });
    expect(res.stdout).toMatch(/^wrote \d+ file\(s\) for connection demo/);
    const flow = readFileSync(path.join(out, 'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml'), 'utf8');
    expect(flow).toContain('<field>Priority</field>');
  });

  it('refuse an ambiguous or unusable source with the reason and exit 78, no stack trace', async () => {
    const both = await cli(['doctor'], { BROKER_CONFIG_SOURCE: 'database', BROKER_CONFIG: '/etc/broker.yaml' });
    expect(both).toMatchObject({ code: 78 });
    expect((both as { stderr: string }).stderr).toMatch(
      /^error: invalid config \(environment\):.*BROKER_CONFIG_SOURCE=database reads the configuration from PostgreSQL: unset BROKER_CONFIG/s,
    );
    const dir = tmpDir('bad-config');
    writeFileSync(path.join(dir, 'broker.yaml'), 'connections: []\n');
    const bad = await cli(['doctor'], { BROKER_CONFIG: path.join(dir, 'broker.yaml') });
    expect(bad).toMatchObject({ code: 78 });
    expect((bad as { stderr: string }).stderr).toMatch(/^error: invalid config /);
    expect((bad as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});
