// broker config import / export / history / rollback: moving a configuration between files
// (BROKER_CONFIG) and the versions in PostgreSQL (BROKER_CONFIG_SOURCE=database).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfigBundle, readConfigBundle, type ConfigBundle } from '@broker/config';
import { ConfigConflictError, ConfigVersionNotFoundError, type ConfigStore, type SaveResult } from '@broker/config-store';
import { connectionCatalogueLookup } from '@broker/fieldnation';
import type { NameCatalogues } from '@broker/mapping';
import { CatalogueUnavailableError, mappingCatalogues } from '@broker/runtime';
import { CliError, type CliIo } from './cli-io';
import { formatTable } from './text-table';

export const defaultAuthor = (): string => `cli:${os.userInfo().username}`;

export interface SaveOptions {
  author?: string;
  message?: string;
  /** Validate without the variables this machine does not have (the settings they fill are not checked). */
  allowUnsetEnv?: boolean;
}

/** Turn the store's refusals into one clear CLI error (exit 1). */
async function refusals<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof ConfigConflictError ||
      err instanceof ConfigVersionNotFoundError ||
      err instanceof CatalogueUnavailableError
    ) {
      throw new CliError(err.message);
    }
    throw err;
  }
}

/**
 * The Field Nation catalogues the bundle's mappings name (`typeOfWork: "Point of Sale"`), fetched
 * through the connections' cached lookups so the validation can resolve the names as the apps will;
 * nothing is asked when no mapping names an entry. A bundle that does not parse is left to the validation.
 */
async function namedCatalogues(bundle: ConfigBundle, env: NodeJS.ProcessEnv): Promise<Map<string, NameCatalogues>> {
  let config;
  try {
    config = parseConfigBundle(bundle, 'new configuration', env);
  } catch {
    return new Map();
  }
  return mappingCatalogues(config, (c) => connectionCatalogueLookup(c.fieldnation));
}

function report(result: SaveResult, io: CliIo): number {
  const v = result.version;
  if (!result.created) {
    io.out(`unchanged: version ${v.version} (in force) already has this content; nothing stored`);
    return 0;
  }
  io.out(
    `stored configuration version ${v.version} (${v.hash.slice(0, 12)}) by ${v.createdBy}${v.restoredFrom ? `, restoring version ${v.restoredFrom}` : ''}`,
  );
  if (result.unsetVariables.length) {
    io.err(
      `not checked here (unset on this machine): ${result.unsetVariables.join(', ')}; the apps refuse the version if they lack them too`,
    );
  }
  if (result.restartNeeded.length) {
    io.err(`these settings apply only after the apps restart: ${result.restartNeeded.join(', ')}`);
  }
  io.out(
    result.notified
      ? 'the running apps were told; each applies it before its next job'
      : 'the running apps were not told (Redis unreachable): each finds it within BROKER_CONFIG_CHECK_SECONDS (30 s by default)',
  );
  return 0;
}

export async function configImportCommand(
  file: string,
  store: ConfigStore,
  options: SaveOptions,
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const result = await refusals(async () => {
    const bundle = readConfigBundle(file);
    return store.importFile(file, {
      author: options.author ?? defaultAuthor(),
      message: options.message ?? `imported from ${path.basename(file)}`,
      validate: { env, unsetEnv: options.allowUnsetEnv ? 'allow' : 'refuse', catalogues: await namedCatalogues(bundle, env) },
    });
  });
  return report(result, io);
}

export async function configRollbackCommand(
  version: number,
  store: ConfigStore,
  options: SaveOptions,
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const result = await refusals(async () => {
    const target = await store.get(version);
    return store.rollback({
      to: version,
      author: options.author ?? defaultAuthor(),
      message: options.message,
      validate: {
        env,
        unsetEnv: options.allowUnsetEnv ? 'allow' : 'refuse',
        catalogues: target ? await namedCatalogues(target.bundle, env) : undefined,
      },
    });
  });
  return report(result, io);
}

/**
 * Print a version's main YAML (default: the one in force), or with `out` write it as broker.yaml and
 * its files beside it: a folder BROKER_CONFIG can point at, and `broker config import` reads back.
 */
export async function configExportCommand(store: ConfigStore, options: { version?: number; out?: string }, io: CliIo): Promise<number> {
  const found = await refusals(() => store.export(options.version));
  if (!found) throw new CliError('no configuration is stored yet: import one with `broker config import <file>`');
  const { bundle } = found;
  if (!options.out) {
    io.out(bundle.main);
    const files = Object.keys(bundle.files);
    if (files.length) io.err(`version ${found.version} also holds ${files.join(', ')}: use --out <dir> to write them too`);
    return 0;
  }
  const out = path.resolve(options.out);
  const write = (name: string, text: string) => {
    const target = path.resolve(out, name);
    // Keys are relative paths inside the folder (validated when stored); checked again before writing.
    if (!target.startsWith(`${out}${path.sep}`)) throw new CliError(`refusing to write ${name} outside ${out}`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
    io.out(`wrote ${target}`);
  };
  write('broker.yaml', bundle.main);
  for (const [name, text] of Object.entries(bundle.files)) write(name, text);
  io.out(`configuration version ${found.version}: BROKER_CONFIG=${path.join(out, 'broker.yaml')} runs it from files`);
  return 0;
}

export async function configHistoryCommand(store: ConfigStore, options: { limit?: number }, io: CliIo): Promise<number> {
  const versions = await store.list({ limit: options.limit ?? 20 });
  if (versions.length === 0) {
    io.out('no configuration is stored yet: import one with `broker config import <file>`');
    return 0;
  }
  io.out(
    formatTable(
      ['version', 'saved', 'by', 'hash', 'message', 'restart needed'],
      versions.map((v, i) => [
        `${v.version}${i === 0 ? ' (in force)' : ''}`,
        v.createdAt.toISOString(),
        v.createdBy,
        v.hash.slice(0, 12),
        v.message ?? (v.restoredFrom ? `rollback to version ${v.restoredFrom}` : ''),
        v.restartNeeded.join(', '),
      ]),
    ),
  );
  return 0;
}
