// The configuration versions in PostgreSQL (BROKER_CONFIG_SOURCE=database): what the setup pages and
// `broker config import/export/history/rollback` call. A version is validated before it is stored, is
// never changed afterwards, and the highest one is in force; the workers pick it up between jobs.
import { hashConfigBundle, parseRawConfig, readConfigBundle, settingsNeedingRestart, type ConfigBundle } from '@broker/config';
import type { PrismaClient } from '@broker/store';
import { diffBundles } from './config-diff';
import { validateConfigBundle, type ValidateOptions } from './config-validation';

export interface ConfigVersionSummary {
  version: number;
  /** SHA-256 of the content (hashConfigBundle). */
  hash: string;
  createdBy: string;
  createdAt: Date;
  message: string | null;
  /** A rollback: the version whose content this one restores. */
  restoredFrom: number | null;
  /** Settings this version changed that the apps apply only when they restart (settingsNeedingRestart). */
  restartNeeded: string[];
}

export interface ConfigVersion extends ConfigVersionSummary {
  bundle: ConfigBundle;
  /** Unified diff against the previous version. */
  diff: string;
}

/** The version in force is not the one the edit started from: someone saved in between. */
export class ConfigConflictError extends Error {
  constructor(
    readonly current: number | null,
    readonly basedOn: number | null,
  ) {
    super(
      `the configuration changed while it was being edited: version ${current ?? '(none)'} is in force, the edit started from ${basedOn ?? '(none)'}; reload it and apply the change again`,
    );
    this.name = 'ConfigConflictError';
  }
}

export class ConfigVersionNotFoundError extends Error {
  constructor(readonly version: number) {
    super(`there is no configuration version ${version}`);
    this.name = 'ConfigVersionNotFoundError';
  }
}

export interface SaveInput {
  bundle: ConfigBundle;
  /** Who saves it: the dashboard user, or `cli:<login>`. */
  author: string;
  message?: string;
  /**
   * The version the edit started from (null: from nothing). When given, the save is refused with
   * ConfigConflictError if another version was saved since. Omitted: saved on top of whatever is in force.
   */
  basedOn?: number | null;
  validate?: ValidateOptions;
}

export interface SaveResult {
  version: ConfigVersion;
  /** False when the content equals the version in force: nothing was stored. */
  created: boolean;
  /** Settings changed from the previous version that wait for a restart of the apps. */
  restartNeeded: string[];
  /** Variables the validation could not resolve (validate.unsetEnv `allow`). */
  unsetVariables: string[];
  /** Whether the running apps were told at once (otherwise they find it within their check interval). */
  notified: boolean;
}

export interface ConfigStoreOptions {
  /** Tell the running apps that a version was stored (publishConfigVersion); they also check periodically. */
  notify?: (version: number) => Promise<void>;
}

type Row = {
  version: number;
  main: string;
  files: unknown;
  hash: string;
  createdBy: string;
  createdAt: Date;
  message: string | null;
  diff: string;
  restoredFrom: number | null;
  restartNeeded: string[];
};

const summaryOf = (r: Omit<Row, 'main' | 'files' | 'diff'>): ConfigVersionSummary => ({
  version: r.version,
  hash: r.hash.trim(),
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  message: r.message,
  restoredFrom: r.restoredFrom,
  restartNeeded: r.restartNeeded ?? [],
});

const versionOf = (r: Row): ConfigVersion => ({
  ...summaryOf(r),
  bundle: { main: r.main, files: { ...(r.files as Record<string, string>) } },
  diff: r.diff,
});

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === 'P2002' || /unique constraint/i.test(String(err));

export function createConfigStore(prisma: PrismaClient, options: ConfigStoreOptions = {}) {
  const get = async (version: number): Promise<ConfigVersion | null> => {
    const row = await prisma.configVersion.findUnique({ where: { version } });
    return row ? versionOf(row) : null;
  };
  const current = async (): Promise<ConfigVersion | null> => {
    const row = await prisma.configVersion.findFirst({ orderBy: { version: 'desc' } });
    return row ? versionOf(row) : null;
  };

  async function store(input: SaveInput & { restoredFrom?: number }): Promise<SaveResult> {
    const { unsetVariables } = validateConfigBundle(input.bundle, input.validate);
    const hash = hashConfigBundle(input.bundle);
    const after = parseRawConfig(input.bundle.main);
    for (let attempt = 0; ; attempt++) {
      const previous = await current();
      const previousNumber = previous?.version ?? null;
      if (input.basedOn !== undefined && input.basedOn !== previousNumber) throw new ConfigConflictError(previousNumber, input.basedOn);
      const restartNeeded = previous ? settingsNeedingRestart(parseRawConfig(previous.bundle.main), after) : [];
      if (previous?.hash === hash) return { version: previous, created: false, restartNeeded: [], unsetVariables, notified: false };
      try {
        const row = await prisma.configVersion.create({
          data: {
            version: (previousNumber ?? 0) + 1,
            main: input.bundle.main,
            files: input.bundle.files,
            hash,
            createdBy: input.author,
            message: input.message ?? null,
            diff: diffBundles(previous?.bundle, input.bundle),
            restoredFrom: input.restoredFrom ?? null,
            restartNeeded,
          },
        });
        let notified = false;
        if (options.notify)
          notified = await options.notify(row.version).then(
            () => true,
            () => false,
          );
        return { version: versionOf(row), created: true, restartNeeded, unsetVariables, notified };
      } catch (err) {
        // Another save took the number: a conflict for an edit of a known version, else try on top of it.
        if (!isUniqueViolation(err)) throw err;
        if (input.basedOn !== undefined || attempt >= 4) throw new ConfigConflictError(null, input.basedOn ?? previousNumber);
      }
    }
  }

  return {
    /** Newest first. */
    async list(options: { limit?: number } = {}): Promise<ConfigVersionSummary[]> {
      const rows = await prisma.configVersion.findMany({
        orderBy: { version: 'desc' },
        take: options.limit ?? 50,
        select: { version: true, hash: true, createdBy: true, createdAt: true, message: true, restoredFrom: true, restartNeeded: true },
      });
      return rows.map(summaryOf);
    },

    get,

    /** The version in force (the highest), or null when none is stored. */
    current,

    /** Validate and store a new version (nothing is stored when it is invalid: ConfigError lists why). */
    save: (input: SaveInput) => store(input),

    /** A new version with the content of an older one (validated again: the environment may have changed). */
    async rollback(input: { to: number; author: string; message?: string; basedOn?: number | null; validate?: ValidateOptions }) {
      const target = await get(input.to);
      if (!target) throw new ConfigVersionNotFoundError(input.to);
      return store({
        bundle: target.bundle,
        author: input.author,
        message: input.message ?? `rollback to version ${input.to}`,
        basedOn: input.basedOn,
        validate: input.validate,
        restoredFrom: input.to,
      });
    },

    /** A version's content (default: the one in force) for `export YAML`; null when none is stored. */
    async export(version?: number): Promise<ConfigVersion | null> {
      if (version === undefined) return current();
      const found = await get(version);
      if (!found) throw new ConfigVersionNotFoundError(version);
      return found;
    },

    /** Read a config file and the files it names, and store them as a new version. */
    importFile(file: string, input: Omit<SaveInput, 'bundle'>): Promise<SaveResult> {
      return store({ ...input, bundle: readConfigBundle(file) });
    },
  };
}

export type ConfigStore = ReturnType<typeof createConfigStore>;
