import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '@broker/config';
import { CliError, type CliIo } from './cli-io';
import { generateSalesforceMetadata } from '@broker/preflight';

export interface MetadataCommandOptions {
  config: LoadedConfig;
  connection?: string;
  out?: string;
  endpoint?: string;
  integrationUser?: string;
  integrationUserId?: string;
}

/** Write the deployable Salesforce metadata (Outbound Messages, Flows, package.xml) for one connection. */
export function salesforceMetadataCommand(options: MetadataCommandOptions, io: CliIo, env: NodeJS.ProcessEnv = process.env): number {
  const { config } = options;
  const ids = config.connections.map((c) => c.id);
  const connection = options.connection
    ? config.connections.find((c) => c.id === options.connection)
    : config.connections.length === 1
      ? config.connections[0]
      : undefined;
  if (!connection) {
    throw new CliError(
      options.connection
        ? `no connection "${options.connection}" (have: ${ids.join(', ')})`
        : `choose a connection with --connection (have: ${ids.join(', ')})`,
    );
  }
  const endpoint = options.endpoint ?? env.PUBLIC_URL;
  if (!endpoint) throw new CliError('pass --endpoint <public ingress URL> (or set PUBLIC_URL): Salesforce must reach it');
  try {
    new URL(endpoint);
  } catch {
    throw new CliError(`--endpoint: "${endpoint}" is not a URL`);
  }
  const out = path.resolve(options.out ?? path.join('salesforce-metadata', connection.id));
  const generated = generateSalesforceMetadata({
    connection,
    endpoint,
    integrationUser: options.integrationUser,
    integrationUserId: options.integrationUserId,
  });
  for (const file of generated.files) {
    const target = path.join(out, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  io.out(`wrote ${generated.files.length} file(s) for connection ${connection.id} to ${out}:`);
  for (const f of generated.files) io.out(`  ${f.path}`);
  for (const o of generated.objects) {
    io.out(
      `  ${o.object}: Flow ${o.flow} → Outbound Message ${o.outboundMessage} → ${o.endpointUrl}${o.filter ? ` (when ${o.filter.field} = ${JSON.stringify(Object.values(o.filter.value)[0])})` : ''}`,
    );
  }
  for (const w of generated.warnings) io.err(`warning: ${w}`);
  const shown = path.relative(process.cwd(), out);
  io.out(
    `deploy: sf project deploy start --source-dir ${shown && !shown.startsWith('..') ? shown : out} (see docs/deployment.md, "Salesforce setup")`,
  );
  return 0;
}

/** A fresh path token: 24 random bytes as base64url (32 characters, 192 bits; the config asks for 128). */
export function newPathToken(): string {
  return randomBytes(24).toString('base64url');
}

export function pathTokenCommand(io: CliIo): number {
  io.out(newPathToken());
  io.err(
    "set it as the connection's salesforce.pathToken (e.g. SF_OM_PATH_TOKEN in the environment), then regenerate the Outbound Messages with `broker salesforce metadata`",
  );
  return 0;
}
