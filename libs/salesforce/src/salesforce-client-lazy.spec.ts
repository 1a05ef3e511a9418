import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

// jsforce costs ~35 MB of memory. The apps are shipped as esbuild bundles (scripts/build-apps.ts),
// and esbuild hoists a static import of an external package to the top of the bundle, so every app
// that merely reaches the client module (the dashboard through the preflight, the CLI) loaded it.
// Checked here on a bundle built the same way, run by plain Node.
const root = path.resolve(import.meta.dirname, '../../..');
const dir = path.join(root, 'dist', `lazy-jsforce-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY = `
import { createRequire } from 'node:module';
import { salesforceSchema } from '@broker/config';
import { createSalesforceClient } from '@broker/salesforce/client';
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/jsforce/'));
const out = { atImport: loaded() };
const config = salesforceSchema.parse({
  instance: 'http://127.0.0.1:9', organizationId: '00D000000000001EAA', pathToken: 'tEsT-pAtH-t0ken_0123456789abcdef',
  auth: { flow: 'password', username: 'u@example.com', password: 'p', securityToken: 't' },
  timeouts: { connectMs: 2000, requestMs: 3000 },
});
const logger = { info() {}, warn() {}, error() {}, debug() {}, child() { return logger; } };
const client = createSalesforceClient(config, { logger });
out.afterCreate = loaded();
out.usage = client.usage ?? null;
out.budgetDelay = client.budgetDelay();
try { await client.query('SELECT Id FROM Case'); } catch (err) { out.error = { name: err.name, errorCode: err.errorCode, code: err.code }; }
out.afterFirstCall = loaded();
console.log(JSON.stringify(out));
`;

describe('jsforce is loaded at the first login, not at import', () => {
  it('in a bundle built like the apps: nothing at import or client creation, loaded by the first call, errors classified as before', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'entry.ts'), ENTRY);
    await build({
      entryPoints: [path.join(dir, 'entry.ts')],
      outfile: path.join(dir, 'main.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      tsconfig: path.join(root, 'tsconfig.base.json'),
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    const bundle = readFileSync(path.join(dir, 'main.mjs'), 'utf8');
    expect(bundle).not.toMatch(/^import .* from "jsforce/m);
    const out = JSON.parse(
      execFileSync(process.execPath, [path.join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 30_000 })
        .trim()
        .split('\n')
        .pop()!,
    );
    expect(out).toMatchObject({ atImport: false, afterCreate: false, usage: null, budgetDelay: 0, afterFirstCall: true });
    // The login reached jsforce's SOAP login through the deadline transport: refused, classified as a network error.
    expect(out.error).toMatchObject({ name: 'SalesforceApiError', errorCode: 'ECONNREFUSED' });
  }, 60_000);
});
