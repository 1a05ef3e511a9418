// The diff stored with each version: unified diff, file by file, of the main YAML and the files it names.
import type { ConfigBundle } from '@broker/config';

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Above this many line pairs a file's diff is the whole old text against the whole new one (no LCS table). */
const MAX_CELLS = 16_000_000;
const CONTEXT = 3;

function lineOps(a: string[], b: string[]): Op[] {
  // Common head and tail first: an edit usually touches a few lines of a long file.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head = a.slice(0, start).map((line): Op => ({ kind: ' ', line }));
  const tail = a.slice(endA).map((line): Op => ({ kind: ' ', line }));
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const middle: Op[] = [];
  if ((x.length + 1) * (y.length + 1) > MAX_CELLS) {
    middle.push(...x.map((line): Op => ({ kind: '-', line })), ...y.map((line): Op => ({ kind: '+', line })));
  } else {
    // Longest common subsequence, from the end, then walked from the start.
    const w = y.length + 1;
    const lcs = new Uint32Array((x.length + 1) * w);
    for (let i = x.length - 1; i >= 0; i--) {
      for (let j = y.length - 1; j >= 0; j--) {
        lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      if (i < x.length && j < y.length && x[i] === y[j]) {
        middle.push({ kind: ' ', line: x[i]! });
        i++;
        j++;
      } else if (i < x.length && (j === y.length || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // Removals before additions, as diff(1) prints them.
        middle.push({ kind: '-', line: x[i++]! });
      } else {
        middle.push({ kind: '+', line: y[j++]! });
      }
    }
  }
  return [...head, ...middle, ...tail];
}

const linesOf = (text: string | undefined): string[] => (text === undefined || text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** Unified diff of one file (empty when equal); `undefined` text: the file does not exist on that side. */
export function unifiedDiff(name: string, before: string | undefined, after: string | undefined): string {
  if (before === after) return '';
  const ops = lineOps(linesOf(before), linesOf(after));
  const out = [`--- ${before === undefined ? '/dev/null' : `a/${name}`}`, `+++ ${after === undefined ? '/dev/null' : `b/${name}`}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change near it.
    const from = Math.max(0, k - CONTEXT);
    let to = k;
    for (let m = k; m < ops.length; m++) {
      if (ops[m]!.kind !== ' ') to = m;
      else if (m - to > CONTEXT * 2) break;
    }
    const end = Math.min(ops.length, to + CONTEXT + 1);
    let oldStart = 1;
    let newStart = 1;
    for (let m = 0; m < from; m++) {
      if (ops[m]!.kind !== '+') oldStart++;
      if (ops[m]!.kind !== '-') newStart++;
    }
    const hunk = ops.slice(from, end);
    const oldCount = hunk.filter((o) => o.kind !== '+').length;
    const newCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${oldCount ? oldStart : oldStart - 1},${oldCount} +${newCount ? newStart : newStart - 1},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = end;
  }
  return `${out.join('\n')}\n`;
}

/** The diff of two configurations, the main YAML as `broker.yaml` and every file by its path. */
export function diffBundles(before: ConfigBundle | undefined, after: ConfigBundle): string {
  const parts = [unifiedDiff('broker.yaml', before?.main, after.main)];
  const names = [...new Set([...Object.keys(before?.files ?? {}), ...Object.keys(after.files)])].sort();
  for (const name of names) parts.push(unifiedDiff(name, before?.files[name], after.files[name]));
  return parts.join('');
}
