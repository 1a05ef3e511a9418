import { readFileSync } from 'node:fs';
import { compileEventRules, type CompiledEventRules } from './event-rules';
import { compileMapping, parseSource, type CompiledMapping, type CompileOptions } from './mapping-compiler';
import {
  CATALOGUE_LABEL,
  findNameUses,
  isMissingCatalogueIssue,
  type CatalogueEntry,
  type CatalogueKind,
  type NameCatalogues,
} from './mapping-names';
import { MappingError, type MappingIssue } from './mapping-types';

// The only I/O of the engine: everything else works on strings and objects.
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new MappingError(
      [{ target: '(file)', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }],
      path,
    );
  }
}

/**
 * Read and compile a mapping file; every error names the file. Names of Field Nation catalogue
 * entries resolve only against `options.catalogues` (see loadMapping for the asynchronous way).
 */
export function loadMappingFile(path: string, options: Omit<CompileOptions, 'file'> = {}): CompiledMapping {
  return compileMapping(readText(path), { ...options, file: path });
}

/**
 * Read and compile an event-rules file; every error names the file. With `object` (the rules of one
 * object, `objects.<name>.eventRules`), the file's `object:` must name it: rules written for another
 * object would write fields it does not have.
 */
export function loadEventRulesFile(path: string, expect: { object?: string } = {}): CompiledEventRules {
  return compileObjectEventRules(readText(path), { file: path, object: expect.object });
}

/** Compile event rules (text) that must apply to `object` when one is given (see loadEventRulesFile). */
export function compileObjectEventRules(text: string, options: { file: string; object?: string }): CompiledEventRules {
  const rules = compileEventRules(text, { file: options.file });
  if (options.object && rules.object !== options.object) {
    throw new MappingError(
      [{ target: 'object', message: `the rules are for ${rules.object}, but objects.${options.object}.eventRules names this file` }],
      options.file,
    );
  }
  return rules;
}

/** Where names are looked up: Field Nation's catalogues (libs/fieldnation's CatalogueLookup, cached). */
export interface NameLookup {
  catalogue(kind: CatalogueKind): Promise<readonly CatalogueEntry[]>;
}

/** The catalogues a mapping names (empty: loading it needs no Field Nation call). Parse errors are left to the compiler. */
export function mappingNameKinds(source: string | object, file?: string): CatalogueKind[] {
  let raw: unknown;
  try {
    raw = parseSource(source, file);
  } catch {
    return [];
  }
  return [...new Set(findNameUses(raw).map((u) => u.kind))].sort();
}

/** Fetch the catalogues `kinds` through `lookup`; a failure becomes an issue naming the catalogue. */
export async function fetchCatalogues(
  kinds: readonly CatalogueKind[],
  lookup: NameLookup,
): Promise<{ catalogues: NameCatalogues; issues: MappingIssue[] }> {
  const catalogues: NameCatalogues = {};
  const issues: MappingIssue[] = [];
  await Promise.all(
    kinds.map(async (kind) => {
      try {
        catalogues[kind] = await lookup.catalogue(kind);
      } catch (err) {
        issues.push({
          target: '(names)',
          message: `cannot list Field Nation ${CATALOGUE_LABEL[kind].many} to resolve the names the mapping uses: ${(err as Error).message}`,
          fix: "check the connection's fieldnation settings (broker doctor shows the token and catalogue checks), or write ids instead of names",
        });
      }
    }),
  );
  return { catalogues, issues };
}

export interface LoadMappingOptions extends Omit<CompileOptions, 'catalogues'> {
  /** Needed only when the mapping names catalogue entries; never called otherwise. */
  lookup?: NameLookup;
}

/**
 * The full validation of a mapping (text or object, or a file with `readFile`): names resolved
 * through `lookup` (only the catalogues the mapping names), compiled with the target schema, and the
 * expression reads that need an evaluation checked. What `broker config validate` and the preview run.
 */
export async function validateMapping(source: string | object, options: LoadMappingOptions = {}): Promise<CompiledMapping> {
  const kinds = mappingNameKinds(source, options.file);
  let catalogues: NameCatalogues | undefined;
  let unlisted: MappingIssue[] = [];
  if (kinds.length && options.lookup) {
    const fetched = await fetchCatalogues(kinds, options.lookup);
    catalogues = fetched.catalogues;
    unlisted = fetched.issues;
  }
  let compiled: CompiledMapping;
  try {
    compiled = compileMapping(source, { file: options.file, targets: options.targets, catalogues });
  } catch (err) {
    // Every other problem is still reported; a catalogue that could not be listed replaces its names' issues.
    if (unlisted.length && err instanceof MappingError)
      throw new MappingError([...unlisted, ...err.issues.filter((i) => !isMissingCatalogueIssue(i))], options.file);
    throw err;
  }
  if (unlisted.length) throw new MappingError(unlisted, options.file);
  const late = await compiled.checkExpressions();
  if (late.length) throw new MappingError(late, options.file);
  return compiled;
}

/** validateMapping over a file. */
export async function loadMapping(path: string, options: Omit<LoadMappingOptions, 'file'> = {}): Promise<CompiledMapping> {
  return validateMapping(readText(path), { ...options, file: path });
}

export { readText };
