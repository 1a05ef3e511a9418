import { readFileSync } from 'node:fs';
import { compileEventRules, type CompiledEventRules } from './event-rules';
import { compileMapping, type CompiledMapping } from './mapping-compiler';
import { MappingError } from './mapping-types';

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

/** Read and compile a mapping file; every error names the file. */
export function loadMappingFile(path: string): CompiledMapping {
  return compileMapping(readText(path), { file: path });
}

/**
 * Read and compile an event-rules file; every error names the file. With `object` (the rules of one
 * object, `objects.<name>.eventRules`), the file's `object:` must name it: rules written for another
 * object would write fields it does not have.
 */
export function loadEventRulesFile(path: string, expect: { object?: string } = {}): CompiledEventRules {
  const rules = compileEventRules(readText(path), { file: path });
  if (expect.object && rules.object !== expect.object) {
    throw new MappingError(
      [{ target: 'object', message: `the rules are for ${rules.object}, but objects.${expect.object}.eventRules names this file` }],
      path,
    );
  }
  return rules;
}

export { readText };
