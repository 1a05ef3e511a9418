// Part of `npm run lint`: the module-boundary rule must reject each deliberate violation in
// */lint-fixtures/ (ignored by the normal run) and accept the allowed case. This also proves the rule
// ran at all: without a cached Nx project graph @nx/enforce-module-boundaries skips silently.
import { ESLint } from 'eslint';

const RULE = '@nx/enforce-module-boundaries';
const cases = [
  { file: 'libs/mapping/lint-fixtures/leaf-imports-lib.ts', reject: true },
  { file: 'libs/store/lint-fixtures/lib-imports-app.ts', reject: true },
  { file: 'apps/cli/lint-fixtures/app-imports-app.ts', reject: true },
  { file: 'apps/ingress/lint-fixtures/app-imports-sim.ts', reject: true },
  { file: 'libs/config/lint-fixtures/lib-imports-testing.ts', reject: true },
  { file: 'libs/store/lint-fixtures/test-imports-app.spec.ts', reject: true },
  { file: 'libs/fieldnation/lint-fixtures/test-imports-sim.spec.ts', reject: false },
];

const eslint = new ESLint({ ignore: false });
const results = await eslint.lintFiles(cases.map((c) => c.file));
let failed = 0;
for (const c of cases) {
  const result = results.find((r) => r.filePath.endsWith(c.file));
  const reports = result?.messages.filter((m) => m.ruleId === RULE) ?? [];
  const ok = c.reject ? reports.length > 0 : result !== undefined && result.messages.length === 0;
  if (!ok) failed++;
  const detail = (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message.split('\n')[0]}`).join('; ') || 'no report';
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.file} (${c.reject ? 'must be rejected' : 'must pass'}): ${detail}`);
}
if (failed > 0) {
  console.error(`${failed} module-boundary case(s) not enforced`);
  process.exit(1);
}
