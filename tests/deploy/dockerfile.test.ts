/**
 * The Dockerfile, read as instructions per stage (no Docker engine runs here): TypeScript compiled
 * in a build stage; a CUDA 12 + cuDNN 9 server on the onnxruntime CUDA 12 provider that runs the
 * compiled JavaScript with production dependencies only, non-root, health-checked, models baked in
 * with a volume; a separate tfjs-node-gpu training target on CUDA 11.2 / cuDNN 8.1.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits the Dockerfile into stages of instructions, joining `\` continuations and dropping comments. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword!.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: match[1]!, name: match[2], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'));
const stage = (name: string) => stages.find((s) => s.name === name)!;
const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('has build, deps, server and train stages, and builds the server by default', () => {
    expect(stages.map((s) => s.name).filter(Boolean)).toEqual(['build', 'deps', 'server', 'train']);
    expect(stages.at(-1)!.from).toBe('server');
  });

  it('compiles in the build stage and ships only dist/ and production dependencies', () => {
    expect(all(stage('build'), 'RUN').join(' ')).toMatch(/npm run build/);
    expect(all(stage('deps'), 'RUN').join(' ')).toMatch(/npm ci --omit=dev/);
    const copies = all(stage('server'), 'COPY');
    expect(copies.some((args) => /--from=build \/app\/dist/.test(args))).toBe(true);
    expect(copies.some((args) => /^(server|training|scripts|tests)\b/.test(args))).toBe(false);
  });

  it('installs onnxruntime-node with its CUDA 12 provider for the server', () => {
    const deps = stage('deps');
    const envIndex = deps.instructions.findIndex((i) => i.keyword === 'ENV' && /ONNXRUNTIME_NODE_INSTALL=cuda12/.test(i.args));
    const ciIndex = deps.instructions.findIndex((i) => i.keyword === 'RUN' && /npm ci/.test(i.args));
    expect(envIndex).toBeGreaterThanOrEqual(0);
    expect(ciIndex).toBeGreaterThan(envIndex);
    expect(all(stage('server'), 'COPY').some((args) => /--from=deps \/app\/node_modules/.test(args))).toBe(true);
  });

  it('runs the server on a CUDA 12 + cuDNN 9 runtime base', () => {
    const from = stage('server').from;
    expect(from).toMatch(/^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn(9)?-runtime-/);
    // CUDA 12.x images from 12.4 on ship cuDNN 9 under the plain "cudnn" tag.
    const minor = Number(/^nvidia\/cuda:12\.(\d+)/.exec(from)![1]);
    expect(from.includes('cudnn9') || minor >= 4).toBe(true);
  });

  it('runs as a non-root user, with a health check on /healthz, baked-in models and a volume', () => {
    const server = stage('server');
    const user = all(server, 'USER').at(-1)!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(all(server, 'HEALTHCHECK').join(' ')).toMatch(/\/healthz/);
    expect(all(server, 'COPY').some((args) => /^models\s+\.\/models$/.test(args))).toBe(true);
    const env = all(server, 'ENV').join(' ');
    expect(env).toMatch(/MODELS_DIR=\/app\/models/);
    expect(env).toMatch(/PORT=8080/);
    expect(all(server, 'VOLUME').join(' ')).toContain('/app/models');
    expect(all(server, 'EXPOSE')).toContain('8080');
    expect(all(server, 'CMD').join(' ')).toBe('["node", "dist/server/main.js"]');
  });

  it('builds the training target on CUDA 11.2 / cuDNN 8 for tfjs-node-gpu, also non-root', () => {
    const train = stage('train');
    expect(train.from).toMatch(/^nvidia\/cuda:11\.2(\.\d+)?-cudnn8-/);
    expect(all(train, 'ENV').join(' ')).toMatch(/TRAIN_BACKEND=tfjs-node-gpu/);
    expect(all(train, 'USER').at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(all(train, 'ENTRYPOINT').join(' ')).toBe('["node", "dist/training/cli.js"]');
    expect(all(train, 'COPY').some((args) => /--from=build \/app\/dist/.test(args))).toBe(true);
  });
});
