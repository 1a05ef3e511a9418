import type { ConnectionConfig } from '@broker/config';
import type { Logger } from '@broker/runtime';
import { FieldNationClient } from './fieldnation-client';

/** Company catalogues a mapping may name instead of numbering (the same kinds as @broker/mapping's CatalogueKind). */
export type CatalogueKind = 'typesOfWork' | 'customFields' | 'templates' | 'projects';

export interface CatalogueItem {
  id: number;
  /** '' when Field Nation sent no name (see catalogueName). */
  name: string;
  /** Extra facts for a picker: a custom field's type and options, a type of work's industry. */
  detail?: string;
}

export interface Catalogue {
  kind: CatalogueKind;
  items: CatalogueItem[];
  /**
   * False when Field Nation says it holds more than it returned (`metadata.total`): the list endpoints
   * of these catalogues document no page parameter, so the rest cannot be asked for.
   */
  complete: boolean;
  total: number;
}

/**
 * Each catalogue's list endpoint and the only query it documents in rest-v2.yaml: types-of-work,
 * custom-fields and templates take none, projects takes `per_page` (no `page`).
 */
export const CATALOGUE_ENDPOINTS: Record<CatalogueKind, { path: string; query: Record<string, number>; cli: string }> = {
  typesOfWork: { path: '/types-of-work', query: {}, cli: 'types-of-work' },
  customFields: { path: '/custom-fields', query: {}, cli: 'custom-fields' },
  templates: { path: '/templates', query: {}, cli: 'templates' },
  projects: { path: '/projects', query: { per_page: 100 }, cli: 'projects' },
};

type Raw = Record<string, unknown>;

/**
 * The display name of a catalogue row. rest-v2.yaml gives types of work and custom fields a `name`;
 * its template (WoTemplatesResultsDto) and project (ProjectResultDto) rows list only `id`, so the
 * plausible spellings are tried in turn (assumption, docs/mapping.md "Names instead of ids").
 */
export function catalogueName(row: Raw): string {
  for (const key of ['name', 'title', 'display_name', 'template_name', 'project_name']) {
    const v = row[key];
    if (typeof v === 'string' && v.trim()) return v.trim();
  }
  return '';
}

function detailOf(kind: CatalogueKind, row: Raw): string | undefined {
  if (kind === 'customFields') {
    const options = Array.isArray(row.options) && row.options.length ? ` (${row.options.join(', ')})` : '';
    return typeof row.type === 'string' ? `${row.type}${options}` : undefined;
  }
  if (kind === 'typesOfWork' && typeof row.industry === 'string') return row.industry;
  return undefined;
}

/** One GET of a catalogue's list endpoint (what `broker fieldnation lookup` and the name resolution read). */
export async function fetchCatalogue(client: FieldNationClient, kind: CatalogueKind): Promise<Catalogue> {
  const { path, query } = CATALOGUE_ENDPOINTS[kind];
  const res = await client.getList(path, query);
  const rows = Array.isArray(res.results) ? (res.results as Raw[]) : [];
  const items = rows
    .filter((r) => r && Number.isFinite(Number(r.id)))
    .map((r) => {
      const detail = detailOf(kind, r);
      return { id: Number(r.id), name: catalogueName(r), ...(detail ? { detail } : {}) };
    });
  const total = Number((res.metadata as Raw | undefined)?.total ?? items.length);
  return { kind, items, total: Number.isFinite(total) ? total : items.length, complete: !(total > items.length) };
}

/** Case-insensitive substring of the name, or the exact id. */
export function searchCatalogue(items: readonly CatalogueItem[], text: string | undefined): CatalogueItem[] {
  const q = text?.trim().toLowerCase();
  if (!q) return [...items];
  return items.filter((i) => i.name.toLowerCase().includes(q) || String(i.id) === q);
}

/**
 * Catalogues cached in memory per process for `ttlMs` (default 10 minutes), keyed by Field Nation
 * origin, API user and kind: a process that loads several mappings naming the same catalogue asks
 * once. A failed fetch is not cached. Nothing is kept across processes.
 */
export class CatalogueCache {
  private readonly entries = new Map<string, { at: number; value: Promise<Catalogue> }>();

  constructor(
    readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(client: FieldNationClient, account: string, kind: CatalogueKind): Promise<Catalogue> {
    const key = `${client.origin}|${account}|${kind}`;
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = fetchCatalogue(client, kind);
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => this.entries.delete(key));
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The process-wide cache the apps and the CLI share. */
export const catalogueCache = new CatalogueCache();

/** A client for a connection's catalogue reads: an operator or a start-up is waiting, so one retry and short waits. */
export function catalogueClient(
  fn: Pick<ConnectionConfig['fieldnation'], 'environment' | 'auth' | 'requestsPerSecond' | 'connectTimeoutMs' | 'timeoutMs'>,
  logger?: Logger,
): FieldNationClient {
  return new FieldNationClient({
    environment: fn.environment,
    credentials: fn.auth,
    rateLimit: { requestsPerSecond: fn.requestsPerSecond },
    connectTimeoutMs: fn.connectTimeoutMs,
    timeoutMs: fn.timeoutMs,
    retry: { maxAttempts: 2, maxRetryAfterMs: 5_000 },
    ...(logger ? { logger } : {}),
  });
}

/**
 * The name lookup of one connection, for @broker/mapping's loadMapping: the client is made (and a
 * token asked for) only when a mapping names a catalogue entry; lists come through the cache.
 */
export function connectionCatalogueLookup(
  fn: Parameters<typeof catalogueClient>[0],
  options: { logger?: Logger; cache?: CatalogueCache } = {},
) {
  let client: FieldNationClient | undefined;
  return {
    catalogue: async (kind: CatalogueKind): Promise<CatalogueItem[]> => {
      client ??= catalogueClient(fn, options.logger);
      return (await (options.cache ?? catalogueCache).get(client, fn.auth.username, kind)).items;
    },
  };
}
