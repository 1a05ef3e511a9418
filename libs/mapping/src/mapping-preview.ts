import type { NameLookup } from './mapping-loader';
import { readText, validateMapping } from './mapping-loader';
import { formatIssue, MappingError, type SalesforceRecord, type WorkOrderPayload } from './mapping-types';

export type PreviewResult = { ok: true; payload: WorkOrderPayload; reads: string[]; writes: string[] } | { ok: false; errors: string[] };

/**
 * Mapping text (or a file path) + a sample record → the payload, or every problem as a readable line.
 * Text containing a newline or starting with `{` is taken as the mapping itself. The mapping is
 * validated in full first (targets, expression reads; names through `lookup` when it uses any).
 */
export async function previewMapping(
  mapping: string | object,
  record: SalesforceRecord,
  options: { lookup?: NameLookup } = {},
): Promise<PreviewResult> {
  const isText = typeof mapping !== 'string' || mapping.includes('\n') || mapping.trimStart().startsWith('{');
  let file: string | undefined;
  try {
    const source = isText ? mapping : readText((file = mapping));
    const compiled = await validateMapping(source, { file, lookup: options.lookup });
    const payload = await compiled.map(record);
    return { ok: true, payload, reads: compiled.reads, writes: compiled.writes };
  } catch (err) {
    if (err instanceof MappingError) return { ok: false, errors: err.issues.map((i) => formatIssue(i, err.file)) };
    return { ok: false, errors: [(err as Error).message] };
  }
}
