// CPU time of processes from /proc (Linux), so the benchmark can say where each synced record's CPU
// went: per app, Redis, PostgreSQL, and the benchmark process itself (simulators and feeder), over
// the measured window only (a snapshot before, one after, the difference).
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_S = 100;

interface StatTimes {
  /** utime + stime of the process itself, ms. */
  own: number;
  /** cutime + cstime: children it has waited for (PostgreSQL's exited backends), ms. */
  reaped: number;
  ppid: number;
}

function statTimes(pid: number): StatTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = (i: number) => (Number(fields[i]) * 1000) / TICKS_PER_S;
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return { own: tick(11) + tick(12), reaped: tick(13) + tick(14), ppid: Number(fields[1]) };
  } catch {
    return undefined; // exited
  }
}

function pidsByComm(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * CPU ms of a server made of a parent and the children it forks (PostgreSQL: the postmaster and
 * its backends). Live processes count their own time; backends that exited count through the
 * parent's reaped time, so a connection closed during the window is not lost.
 */
function serverCpuMs(comm: string): number {
  const pids = pidsByComm(comm);
  const times = new Map(pids.map((p) => [p, statTimes(p)] as const));
  let total = 0;
  for (const [, t] of times) {
    if (!t) continue;
    total += t.own;
    // Only the parent of the group (its own parent is not of the group) contributes reaped time.
    if (!times.has(t.ppid)) total += t.reaped;
  }
  return total;
}

export interface CpuSnapshot {
  /** CPU ms per labelled process. */
  processes: Record<string, number>;
  redis: number;
  postgresql: number;
  /** This process (the benchmark: simulators and feeder). */
  self: number;
}

/**
 * Redis and PostgreSQL by process name; BENCH_REDIS_COMM / BENCH_POSTGRES_COMM name private servers
 * started under names of their own, so that a machine's shared servers (others' load) are not counted.
 */
export function cpuSnapshot(processes: Record<string, number | undefined>): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    processes: Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [name, pid === undefined ? 0 : (statTimes(pid)?.own ?? 0)]),
    ),
    redis: serverCpuMs(process.env.BENCH_REDIS_COMM ?? 'redis-server'),
    postgresql: serverCpuMs(process.env.BENCH_POSTGRES_COMM ?? 'postgres'),
    self: (usage.user + usage.system) / 1000,
  };
}

/** after − before, per entry (ms). A process that exited in between reads 0 after: its delta is not counted. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const processes: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after.processes)) processes[name] = Math.max(0, ms - (before.processes[name] ?? 0));
  return {
    processes,
    redis: Math.max(0, after.redis - before.redis),
    postgresql: Math.max(0, after.postgresql - before.postgresql),
    self: Math.max(0, after.self - before.self),
  };
}
