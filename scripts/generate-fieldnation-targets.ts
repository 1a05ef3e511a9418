// Regenerates libs/mapping/src/fieldnation-targets.generated.ts from Field Nation's published REST v2
// definition (the unchanged copy in apps/fieldnation-sim/openapi). No network: run after updating
// that copy (`npx tsx scripts/generate-fieldnation-targets.ts`); the mapping's spec fails until then.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { deriveWorkOrderTargets, renderTargetsModule } from '../libs/mapping/src/fieldnation-targets.generator';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const spec = parse(readFileSync(path.join(root, 'apps/fieldnation-sim/openapi/rest-v2.yaml'), 'utf8'));
const out = path.join(root, 'libs/mapping/src/fieldnation-targets.generated.ts');
writeFileSync(out, renderTargetsModule(deriveWorkOrderTargets(spec)));
console.log(`wrote ${path.relative(root, out)}`);
