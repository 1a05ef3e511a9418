import type { ConnectionConfig, LoadedConfig } from '@broker/config';
import {
  CATALOGUE_ENDPOINTS,
  catalogueClient,
  fetchCatalogue,
  FieldNationError,
  searchCatalogue,
  type CatalogueKind,
} from '@broker/fieldnation';
import { CliError, type CliIo } from './cli-io';
import { formatTable } from './text-table';

/** The CLI spelling of each catalogue (the endpoint's name). */
export const LOOKUP_KINDS = Object.fromEntries(
  Object.entries(CATALOGUE_ENDPOINTS).map(([kind, e]) => [e.cli, kind as CatalogueKind]),
) as Record<string, CatalogueKind>;

/** The connection a command acts on: the one named, or the only one. */
export function pickConnection(config: LoadedConfig, id: string | undefined): ConnectionConfig {
  if (id) {
    const c = config.connections.find((x) => x.id === id);
    if (!c) throw new CliError(`no connection "${id}" in ${config.file} (connections: ${config.connections.map((x) => x.id).join(', ')})`);
    return c;
  }
  if (config.connections.length > 1)
    throw new CliError(
      `${config.file} has ${config.connections.length} connections: name one with --connection (${config.connections.map((x) => x.id).join(', ')})`,
    );
  return config.connections[0]!;
}

export interface LookupOptions {
  connection?: string;
  search?: string;
  json?: boolean;
}

/**
 * `broker fieldnation lookup <types-of-work|custom-fields|templates|projects> [--search text]`: the
 * connection's Field Nation catalogue (one GET of its list endpoint), filtered by a case-insensitive
 * substring of the name or the exact id. The names printed are what a mapping may use instead of ids.
 */
export async function fieldnationLookupCommand(config: LoadedConfig, what: string, options: LookupOptions, io: CliIo): Promise<number> {
  const kind = LOOKUP_KINDS[what];
  if (!kind) throw new CliError(`unknown catalogue "${what}": one of ${Object.keys(LOOKUP_KINDS).join(', ')}`);
  const connection = pickConnection(config, options.connection);
  let catalogue;
  try {
    catalogue = await fetchCatalogue(catalogueClient(connection.fieldnation), kind);
  } catch (err) {
    if (err instanceof FieldNationError)
      throw new CliError(`Field Nation ${CATALOGUE_ENDPOINTS[kind].path}: ${err.message} (broker doctor checks the credentials)`);
    throw err;
  }
  const hits = searchCatalogue(catalogue.items, options.search);
  if (options.json) {
    io.out(
      JSON.stringify(
        { connection: connection.id, kind: what, complete: catalogue.complete, total: catalogue.total, results: hits },
        null,
        2,
      ),
    );
    return 0;
  }
  const rows = hits.map((i) => [String(i.id), i.name || '(no name)', i.detail ?? '']);
  io.out(formatTable(['id', 'name', kind === 'customFields' ? 'type' : kind === 'typesOfWork' ? 'industry' : ''], rows));
  const of = options.search ? ` matching "${options.search}"` : '';
  io.err(`${hits.length} of ${catalogue.items.length} ${what}${of} (connection ${connection.id})`);
  if (!catalogue.complete)
    io.err(
      `warning: Field Nation reports ${catalogue.total} ${what} but returned ${catalogue.items.length}; its definition documents no way to page further`,
    );
  return 0;
}
