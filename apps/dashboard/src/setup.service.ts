// What the setup pages read and change: the configuration in force (a file, or the versions stored in
// PostgreSQL), Salesforce describes (cached per process: each is an API call), one-record previews,
// the work order a record is synced to, and the connection's Field Nation webhook.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { parseDocument } from 'yaml';
import {
  bundleKey,
  loadConfig,
  parseConfigBundle,
  readConfigBundle,
  readConfigFile,
  type ConfigBundle,
  type ConnectionConfig,
  type LoadedConfig,
} from '@broker/config';
import { activeConfigOf, createConfigStore, publishConfigVersion, type ConfigStore } from '@broker/config-store';
import {
  CATALOGUE_ENDPOINTS,
  catalogueCache,
  catalogueClient,
  connectionCatalogueLookup,
  FieldNationError,
  type Catalogue,
  type CatalogueKind,
  type FieldNationClient,
} from '@broker/fieldnation';
import type { NameCatalogues } from '@broker/mapping';
import { CatalogueUnavailableError, mappingCatalogues } from '@broker/runtime';
import { buildRecordQuery, toId18 } from '@broker/salesforce';
import { createSalesforceClient, toSalesforceError } from '@broker/salesforce/client';
import type { PrismaClient, Store } from '@broker/store';
import type { Redis } from 'ioredis';

export interface DescribeField {
  name: string;
  label?: string;
  type: string;
  relationshipName?: string | null;
  referenceTo?: string[];
  picklistValues?: { value: string; label?: string; active?: boolean }[];
  updateable?: boolean;
  nillable?: boolean;
  length?: number;
}
export interface Describe {
  name: string;
  label?: string;
  fields: DescribeField[];
}

export interface CurrentConfig {
  /** The stored version in force (database mode), null for a file. */
  version: number | null;
  bundle: ConfigBundle;
  config: LoadedConfig;
}

export interface SetupServiceOptions {
  mode: 'file' | 'database';
  /** File mode: the config file. */
  file?: string;
  prisma: PrismaClient;
  store: Store;
  /** Announces saved versions to the workers (they also check periodically). */
  redis?: Redis;
  queuePrefix: string;
  env: NodeJS.ProcessEnv;
  publicUrl?: string;
  logger: Logger;
}

export class SetupError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type SalesforceClient = ReturnType<typeof createSalesforceClient>;

const DESCRIBE_TTL_MS = 10 * 60_000;

export function createSetupService(options: SetupServiceOptions) {
  const configStore: ConfigStore | undefined =
    options.mode === 'database'
      ? createConfigStore(options.prisma, {
          notify: options.redis ? (v) => publishConfigVersion(options.redis!, options.queuePrefix, v) : undefined,
        })
      : undefined;

  async function current(): Promise<CurrentConfig> {
    if (configStore) {
      const v = await configStore.current();
      if (!v) throw new SetupError(503, 'no configuration is stored yet: import one with `broker config import <file>`');
      return { version: v.version, bundle: v.bundle, config: activeConfigOf(v, options.env).config };
    }
    const file = options.file!;
    const config = loadConfig(file, options.env);
    let bundle: ConfigBundle;
    try {
      bundle = readConfigBundle(file);
    } catch {
      // Files named by absolute paths: shown and exported as they are, never stored.
      bundle = { main: readFileSync(file, 'utf8'), files: {} };
    }
    return { version: null, bundle, config };
  }

  const connectionOf = (config: LoadedConfig, id: string): ConnectionConfig => {
    const c = config.connections.find((x) => x.id === id);
    if (!c) throw new SetupError(404, `no connection "${id}" in the configuration`);
    return c;
  };

  // One Salesforce client per connection and credentials; its session is reused by every page.
  const clients = new Map<string, { key: string; client: SalesforceClient; calls: { n: number } }>();
  const salesforce = (connection: ConnectionConfig) => {
    const key = JSON.stringify(connection.salesforce);
    let entry = clients.get(connection.id);
    if (!entry || entry.key !== key) {
      const calls = { n: 0 };
      const client = createSalesforceClient(connection.salesforce, {
        logger: options.logger.child({ connectionId: connection.id, setup: true }),
        onApiCall: () => void calls.n++,
      });
      entry = { key, client, calls };
      clients.set(connection.id, entry);
    }
    return entry;
  };
  const fnClients = new Map<string, { key: string; client: FieldNationClient }>();
  const fieldnation = (connection: ConnectionConfig): FieldNationClient => {
    const key = JSON.stringify(connection.fieldnation);
    let entry = fnClients.get(connection.id);
    if (!entry || entry.key !== key) {
      entry = { key, client: catalogueClient(connection.fieldnation, options.logger.child({ connectionId: connection.id, setup: true })) };
      fnClients.set(connection.id, entry);
    }
    return entry.client;
  };

  /**
   * One catalogue of a connection for the lookup pickers, through the process-wide cache that the name
   * resolution (`lookup` below) reads too, and the Field Nation requests it took (token and retries
   * included): none while the list is cached. A refusal is the error to show, not a throw.
   */
  async function catalogue(
    connection: ConnectionConfig,
    kind: CatalogueKind,
  ): Promise<{ list: Catalogue; fieldnationRequests: number } | { error: string; fieldnationRequests: number }> {
    const client = fieldnation(connection);
    const requests = () => Object.values(client.stats().calls).reduce((a, b) => a + b, 0);
    const before = requests();
    try {
      const list = await catalogueCache.get(client, connection.fieldnation.auth.username, kind);
      return { list, fieldnationRequests: requests() - before };
    } catch (err) {
      if (!(err instanceof FieldNationError)) throw err;
      return { error: `Field Nation ${CATALOGUE_ENDPOINTS[kind].path}: ${err.message}`, fieldnationRequests: requests() - before };
    }
  }

  /**
   * The catalogues a configuration's mappings name, per connection, for the store's validation to
   * resolve the names against (the store calls nobody). Only named catalogues are fetched, through the
   * cache; a configuration that does not parse gets none (its validation says why).
   */
  async function namedCatalogues(bundle: ConfigBundle): Promise<Map<string, NameCatalogues>> {
    let config: LoadedConfig;
    try {
      config = parseConfigBundle(bundle, 'new configuration', options.env);
    } catch {
      return new Map();
    }
    try {
      return await mappingCatalogues(config, (c) => connectionCatalogueLookup(c.fieldnation));
    } catch (err) {
      if (err instanceof CatalogueUnavailableError)
        throw new SetupError(
          502,
          `Not saved: the mappings name Field Nation entries, and Field Nation could not list them: ${err.message}`,
        );
      throw err;
    }
  }

  const describes = new Map<string, { at: number; value: Promise<Describe> }>();
  /** API calls spent on describes, per connection (what the field pages show). */
  const describeCalls = new Map<string, number>();

  async function describe(connection: ConnectionConfig, object: string): Promise<Describe> {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(object)) throw new SetupError(400, `"${object}" is not a Salesforce object name`);
    const key = `${connection.id}/${object.toLowerCase()}`;
    const hit = describes.get(key);
    if (hit && Date.now() - hit.at < DESCRIBE_TTL_MS) return hit.value;
    const { client } = salesforce(connection);
    const value = (async () => {
      await client.ensureSession();
      describeCalls.set(connection.id, (describeCalls.get(connection.id) ?? 0) + 1);
      try {
        return await client.conn.request<Describe>({
          method: 'GET',
          url: `/services/data/v${connection.salesforce.apiVersion}/sobjects/${encodeURIComponent(object)}/describe`,
        });
      } catch (err) {
        const e = toSalesforceError(err);
        throw new SetupError(
          e.errorCode === 'NOT_FOUND' ? 404 : 502,
          e.errorCode === 'NOT_FOUND'
            ? `object ${object} does not exist or the integration user cannot see it`
            : `describe ${object}: ${e.errorCode}: ${e.message}`,
        );
      }
    })();
    describes.set(key, { at: Date.now(), value });
    value.catch(() => describes.delete(key));
    return value;
  }

  /** The describe already fetched for an object, without calling Salesforce (validation as you type). */
  async function cachedDescribe(connection: ConnectionConfig, object: string): Promise<Describe | undefined> {
    const hit = describes.get(`${connection.id}/${object.toLowerCase()}`);
    if (!hit || Date.now() - hit.at >= DESCRIBE_TTL_MS) return undefined;
    return hit.value.catch(() => undefined);
  }

  /**
   * The objects along a relationship path from `object` (`Account__r.Owner` → [Service_Ticket__c,
   * Account, User]), each described (cached). Polymorphic relationships follow their first target.
   */
  async function walk(connection: ConnectionConfig, object: string, path: string[]): Promise<Describe[]> {
    if (path.length > 5) throw new SetupError(400, 'Salesforce follows at most 5 relationships in one path');
    const chain = [await describe(connection, object)];
    for (const rel of path) {
      const here = chain[chain.length - 1]!;
      const field = here.fields.find((f) => f.relationshipName?.toLowerCase() === rel.toLowerCase());
      const target = field?.referenceTo?.[0];
      if (!field || !target) throw new SetupError(404, `no relationship ${rel} on ${here.name}`);
      chain.push(await describe(connection, target));
    }
    return chain;
  }

  /** Whether a field path resolves on the describes in the cache: `unknown` when one on the way is not cached. */
  async function knownPath(connection: ConnectionConfig, object: string, path: string): Promise<'ok' | 'unknown' | string> {
    const parts = path.split('.');
    let d = await cachedDescribe(connection, object);
    for (let i = 0; i < parts.length; i++) {
      if (!d) return 'unknown';
      const part = parts[i]!;
      if (i === parts.length - 1)
        return d.fields.some((f) => f.name.toLowerCase() === part.toLowerCase())
          ? 'ok'
          : `no field ${part} on ${d.name} that the integration user can read`;
      const f = d.fields.find((x) => x.relationshipName?.toLowerCase() === part.toLowerCase());
      if (!f?.referenceTo?.[0]) return `no relationship ${part} on ${d.name}`;
      d = await cachedDescribe(connection, f.referenceTo[0]);
    }
    return 'unknown';
  }

  /** Read one record with exactly `reads`: one SOQL query, one API call. */
  async function readRecord(connection: ConnectionConfig, object: string, id: string, reads: readonly string[]) {
    const { client, calls } = salesforce(connection);
    await client.ensureSession();
    const before = calls.n;
    const soql = buildRecordQuery(object, ['Id', ...reads], toId18(id));
    try {
      const { records } = await client.query(soql);
      return { record: records[0] as Record<string, unknown> | undefined, apiCalls: calls.n - before, soql };
    } catch (err) {
      const e = toSalesforceError(err);
      throw new SetupError(502, `Salesforce refused the query (${calls.n - before} API call): ${e.errorCode}: ${e.message}`);
    }
  }

  /** The work order a record is synced to, as Field Nation has it now (one Field Nation request), or none. */
  async function currentWorkOrder(connection: ConnectionConfig, sfId: string) {
    const correlation = await options.store.getCorrelation({ connectionId: connection.id, sfId: toId18(sfId) });
    if (!correlation?.workOrderId) return { correlation, workOrder: undefined, fieldnationRequests: 0 };
    const workOrder = (await fieldnation(connection).getWorkOrder(correlation.workOrderId)) as unknown as Record<string, unknown>;
    return { correlation, workOrder, fieldnationRequests: 1 };
  }

  /** Replace (or add) a file of the configuration, naming it at `at` (a YAML path) when it is not named yet. */
  function withFile(
    cur: CurrentConfig,
    connectionId: string,
    at: (string | number)[],
    defaultName: string,
    text: string,
    extra: Record<string, unknown> = {},
  ): ConfigBundle {
    const doc = parseDocument(cur.bundle.main);
    const connections = doc.toJS()?.connections as { id?: string }[] | undefined;
    const index = connections?.findIndex((c) => c?.id === connectionId) ?? -1;
    if (index < 0) throw new SetupError(404, `no connection "${connectionId}" in the configuration`);
    const path = ['connections', index, ...at];
    let name = doc.getIn(path) as string | undefined;
    if (typeof name !== 'string' || !name) {
      name = defaultName;
      doc.setIn(path, name);
    }
    for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') doc.setIn([...path.slice(0, -1), k], v);
    const key = bundleKey(name);
    if (key === undefined) throw new SetupError(409, `${name} is not a relative path inside the configuration: it cannot be stored`);
    return { main: doc.toString(), files: { ...cur.bundle.files, [key]: text } };
  }

  return {
    mode: options.mode,
    publicUrl: options.publicUrl,
    configStore,
    current,
    connectionOf,
    describe,
    walk,
    knownPath,
    describeCalls: (connectionId: string) => describeCalls.get(connectionId) ?? 0,
    forgetDescribes(connectionId: string) {
      for (const key of describes.keys()) if (key.startsWith(`${connectionId}/`)) describes.delete(key);
    },
    readRecord,
    currentWorkOrder,
    fieldnation,
    catalogue,
    namedCatalogues,
    lookup: (connection: ConnectionConfig) => connectionCatalogueLookup(connection.fieldnation),
    /** A file's text as the configuration names it (null when it names none). */
    fileText(cur: CurrentConfig, file: string | undefined): string | null {
      if (!file) return null;
      try {
        return readConfigFile(cur.config, file);
      } catch {
        return null;
      }
    },
    withFile,
  };
}

export type SetupService = ReturnType<typeof createSetupService>;
