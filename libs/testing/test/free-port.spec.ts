import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/free-port';

const listen = (port: number, host: string) =>
  new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });

describe('freePort', () => {
  it('hands out ports below the kernel ephemeral range, where no outgoing connection takes them meanwhile', async () => {
    const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralStart);
    }
    // What the apps do with one: listen on the wildcard address.
    const server = await listen(ports[0]!, '0.0.0.0');
    server.close();
  });

  it('keeps the ports a listener opens beside it (a cluster bus at +10000) below the range and free too', async () => {
    const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (let i = 0; i < 5; i++) {
      const port = await freePort({ alsoAt: [10_000] });
      expect(port + 10_000).toBeLessThan(ephemeralStart);
      const [main, bus] = [await listen(port, '0.0.0.0'), await listen(port + 10_000, '0.0.0.0')];
      main.close();
      bus.close();
    }
    await expect(freePort({ alsoAt: [60_000] })).rejects.toThrow(/no port below the ephemeral range leaves room for ports at \+60000/);
  });

  it('skips a port something already listens on, on any address', async () => {
    const next = await freePort();
    // Occupy the next few candidates on loopback only: the wildcard probe must see them.
    const held = [];
    for (let p = next + 1; p <= next + 3; p++) held.push(await listen(p, '127.0.0.1').catch(() => undefined));
    try {
      const port = await freePort();
      expect(port).not.toBe(next);
      for (const s of held) if (s) expect(port).not.toBe((s.address() as net.AddressInfo).port);
    } finally {
      for (const s of held) s?.close();
    }
  });
});
