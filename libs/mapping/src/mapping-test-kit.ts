import { expect } from 'vitest';
import { MappingError } from './mapping-types';

/** The `target: message` lines of the MappingError `run` throws, or [] when it does not throw (tests only). */
export function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(MappingError);
    return (err as MappingError).issues.map((i) => `${i.target}: ${i.message}`);
  }
  return [];
}
