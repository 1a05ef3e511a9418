import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileEntry, compileObject, OMIT, type CompiledEntry } from './entry-compiler';
import { MappingFileSchema } from './mapping.schema';
import { resolveNames, type NameCatalogues } from './mapping-names';
import { MappingError, type MappingIssue, type SalesforceRecord, type WorkOrderPayload } from './mapping-types';
import { checkTargets } from './target-check';

export interface CompiledMapping {
  /** Salesforce object, e.g. `Case`. */
  object: string;
  /** Exact Salesforce field paths read, sorted; the fetcher selects exactly these (plus Id, SystemModstamp). */
  reads: string[];
  /** Field Nation target paths written; custom fields as `custom_fields.<id>`. */
  writes: string[];
  /** Target paths never sent on update. */
  createOnly: string[];
  /** True when any entry is JSONata or Jsonnet. */
  hasExpressions: boolean;
  /** Always available; resolves to the same payload as mapSync when that exists. */
  map(record: SalesforceRecord): Promise<WorkOrderPayload>;
  /**
   * Present when no entry needs async evaluation (JSONata's evaluate is async in v2; Jsonnet runs
   * synchronously in WebAssembly). Declarative mappings always have it.
   */
  mapSync?(record: SalesforceRecord): WorkOrderPayload;
  /** File the mapping came from, when known (used in error messages). */
  file?: string;
  /**
   * The read checks that need an evaluation (JSONata whose reads its AST does not show): each such
   * expression runs once against a record of its declared fields that notes every other name asked.
   * [] when there is nothing to check or nothing wrong. `loadMapping` and `previewMapping` run it.
   */
  checkExpressions(): Promise<MappingIssue[]>;
}

export interface CompileOptions {
  /** Named in every error message. */
  file?: string;
  /**
   * `fieldnation` (default): every target must be a field of Field Nation's work order, and every
   * constant fit it (see target-check.ts). `unchecked`: any target path (engine tests, other sinks).
   */
  targets?: 'fieldnation' | 'unchecked';
  /** Field Nation catalogues for the names the mapping uses (`{ typeOfWork: "Point of Sale" }`). */
  catalogues?: NameCatalogues;
}

/** Parse YAML (JSON is YAML) into a plain object, naming the file and line on syntax errors. */
export function parseSource(source: string | object, file: string | undefined): unknown {
  if (typeof source !== 'string') return source;
  try {
    return parseYaml(source, { prettyErrors: true });
  } catch (err) {
    throw new MappingError([{ target: '(file)', message: `not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}` }], file);
  }
}

export function zodToIssues(error: z.ZodError, sectionsKeyedByTarget: string[]): MappingIssue[] {
  return error.issues.map((raw) => {
    // Record keys and unions nest the useful message one level down.
    const nested = (raw as { issues?: { message: string }[] }).issues?.[0]?.message;
    const i = nested && raw.code === 'invalid_key' ? { ...raw, message: nested } : raw;
    const path = i.path.map(String);
    // fields.<target>.rest → target "<target>", message prefixed with the rest.
    if (path.length >= 2 && sectionsKeyedByTarget.includes(path[0]!)) {
      const [section, key, ...rest] = path;
      const target = section === 'customFields' ? `custom_fields.${key}` : key!;
      return { target, message: `${rest.length ? `${rest.join('.')}: ` : ''}${i.message}` };
    }
    return { target: path.length ? path.join('.') : '(file)', message: i.message };
  });
}

export function compileMapping(source: string | object, options: CompileOptions = {}): CompiledMapping {
  const file = options.file;
  const named = resolveNames(parseSource(source, file), options.catalogues);
  const parsed = MappingFileSchema.safeParse(named.raw);
  if (!parsed.success) throw new MappingError([...named.issues, ...zodToIssues(parsed.error, ['fields', 'customFields'])], file);
  const m = parsed.data;

  const issues: MappingIssue[] = [...named.issues];
  if (options.targets !== 'unchecked') checkTargets(m.fields, issues);
  const reads = new Set<string>();
  const probes: (() => Promise<MappingIssue[]>)[] = [];
  const ctx = { kind: 'salesforce' as const, reads, issues, probes };
  const body = compileObject(m.fields, '', ctx);

  const customIds = Object.keys(m.customFields ?? {});
  if (customIds.length && 'custom_fields' in m.fields) {
    issues.push({
      target: 'custom_fields',
      message: 'set custom fields either in "customFields:" or as the custom_fields target, not both',
    });
  }
  const customs: { id: number; entry: CompiledEntry }[] = [];
  for (const id of customIds) {
    // A name that did not resolve is already an issue.
    if (!/^\d+$/.test(id)) continue;
    const target = `custom_fields.${id}`;
    const entry = compileEntry(m.customFields![id]!, target, ctx);
    if (!entry) continue;
    // A custom field's value travels as one text, so a part of it cannot be held back on update.
    for (const path of entry.createOnly) {
      if (path !== target)
        issues.push({
          target: path,
          message: `createOnly inside a custom field's value cannot be honoured (the value is sent as one text); mark "${target}" createOnly instead`,
        });
    }
    customs.push({ id: Number(id), entry });
  }
  if (issues.length || !body) throw new MappingError(issues.length ? issues : [{ target: '(file)', message: 'invalid mapping' }], file);

  const writes = [...body.writes, ...customs.map((c) => c.entry.target)].sort();
  const createOnly = [...body.createOnly, ...customs.flatMap((c) => c.entry.createOnly)].sort();
  const isAsync = body.async || customs.some((c) => c.entry.async);
  const hasExpressions = body.hasExpressions || customs.some((c) => c.entry.hasExpressions);

  const nCustom = customs.length;
  const customRuns = customs.map((c) => c.entry.run);
  const customIdsNum = customs.map((c) => c.id);
  const bodyRun = body.runSync;

  const toText = (v: unknown) => (v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  // Field Nation nests custom-field values two levels deep and wants them as strings (reference §5.6).
  const assembleCustom = (out: WorkOrderPayload, values: unknown[]) => {
    let fields: { id: number; value: string }[] | undefined;
    for (let i = 0; i < nCustom; i++) {
      const v = values[i];
      if (v === OMIT) continue;
      (fields ??= []).push({ id: customIdsNum[i]!, value: toText(v) });
    }
    if (fields) out.custom_fields = { results: [{ results: fields }] };
  };

  // mapSync never re-enters itself, so one issue list per compiled mapping is reused (copied on failure).
  const scratch: MappingIssue[] = [];
  const mapSync = (record: SalesforceRecord): WorkOrderPayload => {
    scratch.length = 0;
    const out = bodyRun(record, scratch) ?? {};
    if (nCustom) {
      let fields: { id: number; value: string }[] | undefined;
      for (let i = 0; i < nCustom; i++) {
        const v = customRuns[i]!(record, scratch);
        if (v !== OMIT) (fields ??= []).push({ id: customIdsNum[i]!, value: toText(v) });
      }
      if (fields) out.custom_fields = { results: [{ results: fields }] };
    }
    if (scratch.length) throw new MappingError(scratch.slice(), file);
    return out;
  };

  const mapAsync = async (record: SalesforceRecord): Promise<WorkOrderPayload> => {
    const problems: MappingIssue[] = [];
    const [main, values] = await Promise.all([
      body.runAsync(record, problems),
      Promise.all(customRuns.map((run) => run(record, problems))),
    ]);
    const out = main ?? {};
    assembleCustom(out, values);
    if (problems.length) throw new MappingError(problems, file);
    return out;
  };

  return {
    object: m.object,
    reads: [...reads].sort(),
    writes,
    createOnly,
    hasExpressions,
    map: isAsync ? mapAsync : async (record) => mapSync(record),
    ...(isAsync ? {} : { mapSync }),
    ...(file ? { file } : {}),
    checkExpressions: async () => (await Promise.all(probes.map((p) => p()))).flat(),
  };
}
