// The connection the writer specs run against: the demo connection pointed at a Field Nation
// simulator, with the objects each spec needs, and a client on the simulator's buyer.
import { parseConfig, type ConnectionConfig } from '@broker/config';
import { FieldNationClient } from '@broker/fieldnation';
import { demoConnectionYaml } from '@broker/testing';

const SIM_BUYER = '{ clientId: fn-sim-client, clientSecret: fn-sim-secret, username: buyer@example.com, password: sim-password }';

export function simConnection(
  simUrl: string,
  options: { objects: string; fieldnationExtra?: string },
): { connections: Map<string, ConnectionConfig>; client: FieldNationClient } {
  const config = parseConfig(
    demoConnectionYaml({
      fieldnationAuth: SIM_BUYER,
      fieldnationExtra: `      environment: ${simUrl}${options.fieldnationExtra ?? ''}`,
      objects: options.objects,
    }),
    '/tmp/c.yaml',
    {},
  );
  const connection = config.connections[0]!;
  const client = new FieldNationClient({ environment: simUrl, credentials: connection.fieldnation.auth, rateLimit: false, retry: false });
  return { connections: new Map([['demo', connection]]), client };
}
