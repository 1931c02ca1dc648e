import { describe, expect, it } from 'vitest';
import { availableCores, cgroupCpuLimit } from '../../server/cores.ts';

/** A reader over an in-memory file system. */
const files = (contents: Record<string, string>) => (file: string) => contents[file] ?? null;

describe('cgroupCpuLimit', () => {
  it('reads cgroup v2 cpu.max from the process cgroup up to the root, the tightest counting', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/app\n',
      '/sys/fs/cgroup/kubepods/pod1/app/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '250000 100000\n',
      '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(2.5);
  });

  it('reads a container’s own cpu.max at the mount root (cgroup namespace)', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000' }))).toBe(1.5);
  });

  it('reads cgroup v1 cfs quota and period, under either mount name', () => {
    const v1 = (mount: string) =>
      files({
        '/proc/self/cgroup': '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n',
        [`${mount}/cpu.cfs_quota_us`]: '300000\n',
        [`${mount}/cpu.cfs_period_us`]: '100000\n',
      });
    expect(cgroupCpuLimit(v1('/sys/fs/cgroup/cpu'))).toBe(3);
    expect(cgroupCpuLimit(v1('/sys/fs/cgroup/cpu,cpuacct'))).toBe(3);
  });

  it('is null without a quota: "max", -1, unreadable or malformed files', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeNull();
    expect(
      cgroupCpuLimit(
        files({
          '/proc/self/cgroup': '1:cpu:/\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBeNull();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'lots' }))).toBeNull();
    expect(cgroupCpuLimit(files({}))).toBeNull();
  });
});

describe('availableCores', () => {
  const quota = (cpus: string) => files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': `${cpus} 100000` });

  it('caps the parallelism at the quota, rounded up, and never goes below 1', () => {
    expect(availableCores(quota('200000'), 64)).toBe(2);
    expect(availableCores(quota('150000'), 64)).toBe(2);
    expect(availableCores(quota('10000'), 64)).toBe(1);
    expect(availableCores(quota('800000'), 4)).toBe(4);
    expect(availableCores(quota('max'), 12)).toBe(12);
  });
});
