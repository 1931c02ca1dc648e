/**
 * How many cores this process may use: the CPUs it may run on, capped by its cgroup's CPU quota.
 * Node 20's os.availableParallelism() sees CPU affinity but not the quota, so a container limited
 * to 2 CPUs on a 64-core node would size its pool for 64 (4 workers × 16 threads) and be
 * throttled all the time.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A file's text, or null when it cannot be read. */
export type ReadText = (file: string) => string | null;

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** quota ÷ period in CPUs, or null for no limit ("max", -1) or text that is not two numbers. */
function quotaOf(quota: string | undefined, period: string | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  return quota !== undefined && period !== undefined && Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : null;
}

/**
 * The CPU quota of this process's cgroup, in CPUs (1.5 for "150000 100000"), or null without one.
 * cgroup v2: cpu.max at each level from the process's cgroup up to the root, the tightest
 * counting. cgroup v1: the cpu controller's cfs_quota_us ÷ cfs_period_us. Inside a container the
 * cgroup's own files sit at the mount's root, so that is read too.
 */
export function cgroupCpuLimit(read: ReadText = readText): number | null {
  const limits: number[] = [];
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    const match = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers, cgroup] = match as unknown as [string, string, string];
    if (controllers === '') {
      for (let dir = cgroup; ; dir = path.posix.dirname(dir)) {
        const [quota, period] = (read(path.posix.join('/sys/fs/cgroup', dir, 'cpu.max')) ?? '').trim().split(/\s+/);
        const limit = quotaOf(quota, period);
        if (limit !== null) limits.push(limit);
        if (dir === '/') break;
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        for (const dir of new Set([cgroup, '/'])) {
          const limit = quotaOf(
            read(path.posix.join(mount, dir, 'cpu.cfs_quota_us'))?.trim(),
            read(path.posix.join(mount, dir, 'cpu.cfs_period_us'))?.trim(),
          );
          if (limit !== null) limits.push(limit);
        }
      }
    }
  }
  return limits.length > 0 ? Math.min(...limits) : null;
}

/** The cores to size the inference pool for: availableParallelism, capped by the CPU quota (rounded up). */
export function availableCores(read: ReadText = readText, parallelism = os.availableParallelism()): number {
  const limit = cgroupCpuLimit(read);
  return limit === null ? parallelism : Math.max(1, Math.min(parallelism, Math.ceil(limit)));
}
