import { compileMapping } from './mapping-compiler';
import { readText } from './mapping-loader';
import { formatIssue, MappingError, type SalesforceRecord, type WorkOrderPayload } from './mapping-types';

export type PreviewResult = { ok: true; payload: WorkOrderPayload; reads: string[]; writes: string[] } | { ok: false; errors: string[] };

/**
 * Mapping text (or a file path) + a sample record → the payload, or every problem as a readable line.
 * Text containing a newline or starting with `{` is taken as the mapping itself.
 */
export async function previewMapping(mapping: string | object, record: SalesforceRecord): Promise<PreviewResult> {
  const isText = typeof mapping !== 'string' || mapping.includes('\n') || mapping.trimStart().startsWith('{');
  let file: string | undefined;
  try {
    const source = isText ? mapping : readText((file = mapping));
    const compiled = compileMapping(source, { file });
    const payload = await compiled.map(record);
    return { ok: true, payload, reads: compiled.reads, writes: compiled.writes };
  } catch (err) {
    if (err instanceof MappingError) return { ok: false, errors: err.issues.map((i) => formatIssue(i, err.file)) };
    return { ok: false, errors: [(err as Error).message] };
  }
}
