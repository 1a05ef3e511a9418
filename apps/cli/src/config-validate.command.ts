import { ConfigError, loadConfig, resolveConfigPath } from '@broker/config';
import { loadEventRulesFile, loadMappingFile } from '@broker/mapping';
import type { CliIo } from './cli-io';

/**
 * Validate the connection config the way the apps will at start-up, and compile every mapping and
 * event-rules file it names, so a broken deploy is caught before it is rolled out.
 */
export function configValidateCommand(file: string, io: CliIo, env: NodeJS.ProcessEnv = process.env): number {
  let config;
  try {
    config = loadConfig(file, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
  const problems: string[] = [];
  const compile = (at: string, path: string, load: (p: string) => unknown) => {
    try {
      load(path);
    } catch (err) {
      problems.push(`  ${at}: ${(err as Error).message.replace(/\n/g, '\n    ')}`);
    }
  };
  config.connections.forEach((c, i) => {
    for (const [object, settings] of Object.entries(c.objects)) {
      if (settings.mapping)
        compile(`connections[${i}].objects.${object}.mapping`, resolveConfigPath(config, settings.mapping), loadMappingFile);
      if (settings.eventRules)
        compile(`connections[${i}].objects.${object}.eventRules`, resolveConfigPath(config, settings.eventRules), (p) =>
          loadEventRulesFile(p, { object }),
        );
    }
    if (c.eventRules) compile(`connections[${i}].eventRules`, resolveConfigPath(config, c.eventRules), (p) => loadEventRulesFile(p));
  });
  if (problems.length) {
    io.err(`invalid config ${file}:\n${problems.join('\n')}`);
    return 1;
  }
  io.out(`config ${file} is valid: ${config.connections.length} connection(s)`);
  for (const c of config.connections) {
    const own = Object.entries(c.objects)
      .filter(([, o]) => o.eventRules)
      .map(([name]) => name);
    io.out(
      `  ${c.id}: objects ${Object.keys(c.objects).join(', ')}${c.eventRules ? '; event rules' : ''}${own.length ? `; own event rules: ${own.join(', ')}` : ''}`,
    );
  }
  return 0;
}
