/** A plain aligned text table (no colours: output is often piped or pasted into tickets). */
export function formatTable(headers: string[], rows: (string | number | null | undefined)[][], maxWidth = 80): string {
  const cells = rows.map((r) => r.map((c) => oneLine(c == null ? '' : String(c), maxWidth)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
