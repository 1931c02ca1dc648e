import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { busyConvModel, imageManifest, tempModelsDir, writeModel } from '../helpers/image-models.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;
afterAll(() => {
  // The whole process group: npm, and the server under it should npm ever leave it behind.
  if (child?.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The command lines of the processes in process group `group` (Linux /proc). */
function processGroupCommands(group: number): string[][] {
  const commands: string[][] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      // stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so split after its ')'
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === group) commands.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // the process ended meanwhile
    }
  }
  return commands;
}

/** Runs `npm start` (in a process group of its own) and resolves with its log lines as they come. */
function startMain(env: Record<string, string>): {
  process: ChildProcess;
  nextLog: (msg: string) => Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
} {
  const proc = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  const seen: Array<Record<string, unknown>> = [];
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    seen.push(line);
    for (const w of waiters.filter((w) => w.msg === line.msg)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const nextLog = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const already = seen.find((l) => l.msg === msg);
      if (already) resolve(already);
      else waiters.push({ msg, resolve });
    });
  return { process: proc, nextLog, exited };
}

describe('npm start', () => {
  it('runs the compiled server (dist/, no tsx), listens within 10 s, loads models in the background, serves through its workers, and drains when npm gets SIGTERM', async () => {
    const dir = tempModelsDir();
    writeModel(dir, 'busy', imageManifest('busy', { maxSide: 1024 }), busyConvModel(16));
    const started = performance.now();
    const main = startMain({ PORT: '0', HOST: '127.0.0.1', MODELS_DIR: dir, LOG_LEVEL: 'info', INFERENCE_WORKERS: '1' });
    child = main.process;
    const listening = await main.nextLog('listening');
    expect(performance.now() - started).toBeLessThan(10_000);
    // npm exec'd plain node on the compiled entry: no tsx anywhere in the process group
    const commands = processGroupCommands(main.process.pid!);
    expect(commands.some((argv) => argv[1] === 'dist/server/main.js')).toBe(true);
    expect(commands.filter((argv) => argv.some((arg) => arg.includes('tsx')))).toEqual([]);
    const url = `http://127.0.0.1:${listening.port as number}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await main.nextLog('all models loaded');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: '#468' } })
      .png()
      .toBuffer();
    const inFlight = fetch(`${url}/v1/models/busy/translate`, { method: 'POST', body: png, headers: { 'Content-Type': 'image/png' } });
    await new Promise((resolve) => setTimeout(resolve, 150)); // let the request reach the worker
    main.process.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(512);
    expect(await main.exited).toBe(0);
  });
});
