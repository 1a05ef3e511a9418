import { readFileSync } from 'node:fs';
import net from 'node:net';

// A port for something that listens later (a child app, a simulator, a private redis-server).
//
// The usual trick, listen(0) then close, takes the port from the kernel's ephemeral range, the range
// every outgoing connection on the machine also draws its local port from: between the probe and the
// child's listen (seconds, while it starts), a connection to Redis or PostgreSQL from another test
// process can take it, and the child dies with EADDRINUSE (seen in CI). These ports come from below
// that range, where the kernel never hands out a port by itself; each process walks its own stretch of
// it (from an offset of its pid) so parallel test processes rarely even try the same port, and each
// port is probed on the wildcard address the apps listen on before it is handed out.

const LOWEST = 10_000;
let next: number | undefined;

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > LOWEST + 1_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '0.0.0.0', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

export interface FreePortOptions {
  /**
   * Offsets of the other ports the listener opens beside it (a Redis Cluster node: its bus at +10000):
   * they are kept below the ephemeral range and probed too.
   */
  alsoAt?: readonly number[];
}

export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const alsoAt = options.alsoAt ?? [];
  const high = ephemeralRangeStart() - Math.max(0, ...alsoAt);
  if (high <= LOWEST) throw new Error(`no port below the ephemeral range leaves room for ports at +${alsoAt.join(', +')}`);
  const span = high - LOWEST;
  let candidate = next ?? LOWEST + ((process.pid * 7_919) % span);
  for (let tries = 0; tries < 1_000; tries++) {
    const port: number = LOWEST + ((candidate - LOWEST) % span);
    candidate = next = port + 1;
    if ((await canListen(port)) && (await Promise.all(alsoAt.map((o) => canListen(port + o)))).every(Boolean)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${high} after 1000 tries`);
}
