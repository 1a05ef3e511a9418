// Lists exports of apps/*/src and libs/*/src that nothing uses: `node scripts/unused-exports.mjs`
// prints those referenced nowhere (not even in their own file: dead code); `--local` adds those used
// only inside their own file (the `export` can go). A name counts as used when it appears as a word
// in any other tracked .ts file, re-exports in index.ts aside, so a shared name can hide a dead export.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const local = process.argv.includes('--local');
const files = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .filter((f) => !f.includes('/generated/') && !f.includes('/lint-fixtures/'));
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const withoutReexports = (f) =>
  f.endsWith('index.ts') ? text.get(f).replace(/^export\s*(\*|\{[^}]*\})\s*from[^\n]*$/gm, '') : text.get(f);
const declaration =
  /^export\s+(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

let found = 0;
for (const file of files.filter((f) => /^(apps|libs)\/[^/]+\/src\//.test(f) && !f.endsWith('.spec.ts') && !f.endsWith('index.ts'))) {
  for (const [, name] of text.get(file).matchAll(declaration)) {
    const pattern = `(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`;
    const word = new RegExp(pattern);
    if (files.some((g) => g !== file && word.test(withoutReexports(g)))) continue;
    const inFile = text.get(file).match(new RegExp(pattern, 'g')).length;
    if (inFile > 1 && !local) continue;
    found++;
    console.log(`${file}\t${name}\t${inFile > 1 ? 'used only in its file' : 'used nowhere'}`);
  }
}
if (found === 0) console.log('no unused exports');
