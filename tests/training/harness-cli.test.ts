/** `npm run train` as users run it: a real child process of training/cli.ts. */
import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'train-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'training/cli.ts', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('train CLI', () => {
  it('trains a recipe with plain progress lines when not on a TTY, names the backend and exports', async () => {
    const out = join(root, 'run');
    const { code, stdout } = await cli([
      'train',
      'smoke',
      '--steps',
      '4',
      '--backend',
      'cpu',
      '--out',
      out,
      '--log-every',
      '2',
      '--seed',
      '3',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\[train\] backend: cpu/);
    expect(stdout).toMatch(/^step 2\/4 epoch [\d.]+ discriminator=[\d.]+ generator=[\d.]+ [\d.]+ img\/s$/m);
    expect(stdout).toContain(`exported ${join(out, 'export', 'smoke')}`);
    await access(join(out, 'export', 'smoke', 'model.onnx'));
  }, 60_000);

  it('stops after the current step with a checkpoint on SIGTERM (docker stop), exit code 143', async () => {
    const out = join(root, 'terminated');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'training/cli.ts', 'train', 'smoke', '--steps', '100000', '--backend', 'cpu', '--out', out, '--log-every', '1'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/^step \d+\/100000/m.test(stdout)) resolve();
        });
        void exited.then((code) => reject(new Error(`training exited (${code}) before its first step:\n${stdout}`)));
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const step = Number(/stopped at step (\d+)\/100000; continue with: npm run train -- smoke --resume /.exec(stdout)?.[1]);
    expect(step).toBeGreaterThan(0);
    expect(await readdir(join(out, 'checkpoints'))).toContain(`step-${String(step).padStart(8, '0')}`);
  }, 60_000);

  it('rejects unknown recipes and options with the usage text and exit code 2', async () => {
    const unknownRecipe = await cli(['train', 'nope']);
    expect(unknownRecipe.code).toBe(2);
    expect(unknownRecipe.stderr).toMatch(/unknown recipe "nope"; known: smoke, digits/);
    const unknownOption = await cli(['train', 'smoke', '--colour', 'red', '--backend', 'cpu']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/unknown option --colour; this recipe takes --noise-dim, --hidden-units/);
  }, 60_000);

  it('rejects a second positional argument instead of ignoring it (eval would score models/<first>)', async () => {
    const evalTwo = await cli(['eval', 'digits', 'runs/x/export/digits']);
    expect(evalTwo.code).toBe(2);
    expect(evalTwo.stderr).toMatch(/unexpected argument "runs\/x\/export\/digits": give one model folder/);
    const trainTwo = await cli(['train', 'smoke', 'digits']);
    expect(trainTwo.code).toBe(2);
    expect(trainTwo.stderr).toMatch(/unexpected argument "digits": give one recipe/);
  }, 60_000);
});
