import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineQueue, enqueue, jobId } from '@broker/contracts';
import { freePort, startRedisServer } from '@broker/testing';
import {
  baseEnvSchema,
  createLogger,
  createProducerConnection,
  createWorkerConnection,
  isClusterConnection,
  openQueue,
  parseClusterUrl,
  parseEnv,
  startWorker,
  tryLock,
} from '../src/index';

// A real three-node Redis Cluster on 127.0.0.1, made with the redis-server and redis-cli of this machine.
const nodes: ChildProcess[] = [];
let dir: string;
let clusterUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    // A cluster node also listens on port + 10000 (its bus).
    const port = await freePort({ alsoAt: [10_000] });
    ports.push(port);
    nodes.push(
      await startRedisServer({
        port,
        dir,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--appendonly', 'no'],
      }),
    );
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    stdio: 'pipe',
  });
  for (let i = 0; i < 100; i++) {
    if (execFileSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' }).includes('cluster_state:ok')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  clusterUrl = ports.map((p) => `redis-cluster://127.0.0.1:${p}`).join(',');
}, 30_000);

afterAll(async () => {
  for (const n of nodes) n.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const pingQueue = defineQueue('test.cluster', { ping: z.object({ n: z.number() }) });
const log = createLogger({ service: 'cluster-test', level: 'silent' });

describe('Redis Cluster', () => {
  it('accepts cluster seed nodes in REDIS_URL and refuses anything else', () => {
    expect(
      parseEnv(baseEnvSchema, { REDIS_URL: 'redis-cluster://:s3cret@10.0.0.1:6379,redis-cluster://10.0.0.2:6380' }).REDIS_URL,
    ).toContain('10.0.0.2');
    expect(parseClusterUrl('rediss-cluster://user:pw@cache.example:6380')).toEqual({
      nodes: [{ host: 'cache.example', port: 6380 }],
      redisOptions: { username: 'user', password: 'pw', tls: {} },
    });
    expect(parseClusterUrl('redis://127.0.0.1:6379')).toBeUndefined();
    expect(() => parseEnv(baseEnvSchema, { REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(() => parseEnv(baseEnvSchema, { REDIS_URL: 'redis://a:1,redis://b:2' })).toThrow(/REDIS_URL/);
  });

  it('runs a queue with a hash-tagged prefix through a worker, and refuses a prefix without one', async () => {
    const producer = createProducerConnection(clusterUrl);
    const worker = createWorkerConnection(clusterUrl);
    expect(isClusterConnection(producer)).toBe(true);
    expect(() => openQueue(pingQueue, producer, 'broker')).toThrow(/hash tag.*\{broker\}/);
    expect(() => startWorker(pingQueue, { ping: async () => 'pong' }, {}, { connection: worker, prefix: 'broker', logger: log })).toThrow(
      /hash tag/,
    );

    const prefix = `{tc${Date.now().toString(36)}}`;
    const queue = openQueue(pingQueue, producer, prefix);
    const seen: number[] = [];
    const w = startWorker(pingQueue, { ping: async (job) => void seen.push(job.data.n) }, {}, { connection: worker, prefix, logger: log });
    try {
      for (let n = 1; n <= 5; n++) await enqueue(queue, 'ping', { n }, { jobId: jobId('p', String(n)) });
      for (let i = 0; i < 100 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
      expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
      // A record lock (a single key, whatever its slot) works the same.
      const release = await tryLock(producer, `${prefix}:lock:fnw:demo:500000000000001AAA`);
      expect(release).toBeTypeOf('function');
      expect(await tryLock(producer, `${prefix}:lock:fnw:demo:500000000000001AAA`)).toBeNull();
      await release!();
    } finally {
      await w.close();
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
      worker.disconnect();
    }
  });
});
