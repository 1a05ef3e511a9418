// Runs once per vitest process (one per Nx project): checks that Redis and PostgreSQL answer and
// migrates the template database that every test file clones (CREATE DATABASE … TEMPLATE …).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { adminUrl, databaseUrl, TEMPLATE_DB } from './env';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default async function globalSetup(): Promise<void> {
  await prepareTemplateDatabase();
}

/**
 * Checks that Redis and PostgreSQL answer and that the template database holds every migration
 * (creating or re-migrating it when not): what a test file, the benchmark or the chaos run clones.
 */
export async function prepareTemplateDatabase(): Promise<void> {
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) delete process.env[key];
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }

  const admin = new pg.Client({ connectionString: adminUrl() });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${adminUrl()}: ${(err as Error).message}`);
  }
  try {
    // Several vitest processes start at once under `nx run-many`: one migrates, the others wait.
    await admin.query('SELECT pg_advisory_lock(727274)');
    const migrations = readdirSync(path.join(root, 'prisma/migrations'))
      .filter((d) => /^\d/.test(d))
      .sort();
    let current = false;
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE_DB]);
    if (exists.rowCount) {
      const tpl = new pg.Client({ connectionString: databaseUrl(TEMPLATE_DB) });
      await tpl.connect();
      try {
        const applied = await tpl.query(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
        );
        current = applied.rows.map((r) => r.migration_name).join(',') === migrations.join(',');
      } catch {
        current = false;
      } finally {
        await tpl.end();
      }
    }
    if (!current) {
      await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
      execFileSync(path.join(root, 'node_modules/.bin/prisma'), ['migrate', 'deploy'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: databaseUrl(TEMPLATE_DB), CHECKPOINT_DISABLE: '1' },
        stdio: 'pipe',
      });
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await admin.end();
  }
}
