import { listTargets } from '@broker/mapping';
import type { CliIo } from './cli-io';
import { formatTable } from './text-table';

/** `broker mapping targets [--search text]`: the work-order paths a mapping may write, from Field Nation's definition. */
export function mappingTargetsCommand(options: { search?: string }, io: CliIo): number {
  const q = options.search?.trim().toLowerCase();
  const targets = listTargets().filter((t) => !q || t.path.toLowerCase().includes(q));
  io.out(
    formatTable(
      ['target', 'type', 'values'],
      targets.map((t) => [t.path, t.type, t.enum?.join(', ') ?? '']),
    ),
  );
  io.err(`${targets.length} target paths ([] marks list elements: build them with list:)`);
  return 0;
}
