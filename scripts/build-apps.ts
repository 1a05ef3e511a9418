// Bundle each app's main.ts (libs inlined through the tsconfig path aliases, npm packages left
// external) into dist/apps/<app>/main.mjs: what the Docker image and the benchmarks run.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// `--outdir DIR` (relative to the repository, so bundles still find node_modules) for a check build.
const args = process.argv.slice(2);
const outIndex = args.indexOf('--outdir');
const outDir = path.resolve(root, outIndex >= 0 ? args.splice(outIndex, 2)[1]! : 'dist/apps');
const only = args;
const apps = readdirSync(path.join(root, 'apps')).filter(
  (a) => existsSync(path.join(root, 'apps', a, 'src/main.ts')) && (only.length === 0 || only.includes(a)),
);

for (const app of apps) {
  await build({
    entryPoints: [path.join(root, 'apps', app, 'src/main.ts')],
    outfile: path.join(outDir, app, 'main.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    tsconfig: path.join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
    // Bundled ESM still meets CommonJS-style code in a few libs: give it require/__dirname.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
    },
  });
  console.log(`built ${path.relative(root, path.join(outDir, app, 'main.mjs'))}`);
}
