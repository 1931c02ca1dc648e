/**
 * Checkpoint files: a run's models and optimizer state at one step, written atomically under
 * OUT/checkpoints/step-NNNNNNNN/ (state.json + tensors.bin), read back for --resume, the oldest
 * pruned. Adam's β powers are saved too, so a resumed run continues bit for bit.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RecipeOptions, RecipeSession } from '../recipes/recipe.ts';

/** Everything a checkpoint's state.json holds besides the tensors. */
interface CheckpointState {
  format: 1;
  recipe: string;
  step: number;
  totalSteps: number;
  seed: number;
  batchSize: number;
  recipeOptions: RecipeOptions;
  rng: { kind: 'counter'; seed: number; step: number };
  tensors: TensorEntry[];
  /** Adam's running β powers, restored exactly (setWeights would recompute them with pow). */
  adamBetaPowers: Record<string, [number, number]>;
  elapsedSeconds: number;
  backend?: string;
}

interface TensorEntry {
  group: 'model' | 'optimizer';
  key: string;
  index: number;
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
}

/** A step number as the run folder's file names write it, zero-padded so they sort. */
export const pad = (step: number) => String(step).padStart(8, '0');

/** Adam keeps β₁ᵗ and β₂ᵗ as private variables; reading them lets resume restore them bit-exactly. */
interface AdamBetaPowers {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

export async function saveCheckpoint(outDir: string, session: RecipeSession, state: CheckpointState): Promise<string> {
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (group: TensorEntry['group'], key: string, index: number, name: string, tensor: tf.Tensor) => {
    const values = Float32Array.from(tensor.dataSync() as ArrayLike<number>);
    state.tensors.push({ group, key, index, name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', offset });
    chunks.push(values);
    offset += values.length;
  };
  for (const [key, model] of Object.entries(session.models)) {
    model.weights.forEach((weight, index) => add('model', key, index, weight.originalName, weight.read()));
  }
  for (const [key, optimizer] of Object.entries(session.optimizers)) {
    const named = await optimizer.getWeights();
    named.forEach(({ name, tensor }, index) => add('optimizer', key, index, name, tensor));
    const betas = optimizer as unknown as AdamBetaPowers;
    if (betas.accBeta1 && betas.accBeta2) {
      state.adamBetaPowers[key] = [betas.accBeta1.dataSync()[0]!, betas.accBeta2.dataSync()[0]!];
    }
  }
  const dir = join(outDir, 'checkpoints', `step-${pad(state.step)}`);
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const bytes = new Uint8Array(offset * 4);
  let position = 0;
  for (const chunk of chunks) {
    bytes.set(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), position);
    position += chunk.byteLength;
  }
  await writeFile(join(staging, 'tensors.bin'), bytes);
  await writeFile(join(staging, 'state.json'), `${JSON.stringify(state, null, 1)}\n`);
  // Rename last, so a crash mid-write never leaves a checkpoint that looks complete.
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return dir;
}

export async function restoreCheckpoint(dir: string, state: CheckpointState, session: RecipeSession): Promise<void> {
  const raw = await readFile(join(dir, 'tensors.bin'));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const valuesOf = (entry: TensorEntry): tf.Tensor => {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const values = all.slice(entry.offset, entry.offset + size);
    return entry.dtype === 'int32' ? tf.tensor(Int32Array.from(values), entry.shape, 'int32') : tf.tensor(values, entry.shape);
  };
  for (const [key, model] of Object.entries(session.models)) {
    const entries = state.tensors.filter((t) => t.group === 'model' && t.key === key).sort((a, b) => a.index - b.index);
    if (entries.length !== model.weights.length) {
      throw new Error(`checkpoint ${dir}: model "${key}" has ${entries.length} tensors, the recipe builds ${model.weights.length}`);
    }
    entries.forEach((entry, i) => {
      const weight = model.weights[i]!;
      if (entry.shape.join('x') !== weight.shape.join('x')) {
        throw new Error(`checkpoint ${dir}: ${weight.originalName} has shape [${entry.shape}], the recipe builds [${weight.shape}]`);
      }
      const value = valuesOf(entry);
      weight.write(value);
      value.dispose();
    });
  }
  for (const [key, optimizer] of Object.entries(session.optimizers)) {
    const entries = state.tensors.filter((t) => t.group === 'optimizer' && t.key === key).sort((a, b) => a.index - b.index);
    if (entries.length === 0) continue;
    await optimizer.setWeights(entries.map((entry) => ({ name: entry.name, tensor: valuesOf(entry) })));
    const powers = state.adamBetaPowers[key];
    const betas = optimizer as unknown as AdamBetaPowers;
    if (powers && betas.accBeta1 && betas.accBeta2) {
      betas.accBeta1.assign(tf.scalar(powers[0]));
      betas.accBeta2.assign(tf.scalar(powers[1]));
    }
  }
}

/** Finds the checkpoint to resume from: `path` itself, or the latest under `path`/checkpoints. */
export async function loadCheckpointState(path: string): Promise<{ dir: string; state: CheckpointState }> {
  const direct = await readFile(join(path, 'state.json'), 'utf8').catch(() => undefined);
  if (direct !== undefined) return { dir: path, state: JSON.parse(direct) as CheckpointState };
  const names = await listCheckpoints(path);
  const latest = names.at(-1);
  if (latest === undefined) throw new Error(`no checkpoint to resume in ${path} (expected ${join(path, 'checkpoints', 'step-*')})`);
  const dir = join(path, 'checkpoints', latest);
  return { dir, state: JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState };
}

async function listCheckpoints(runDir: string): Promise<string[]> {
  const names = await readdir(join(runDir, 'checkpoints')).catch(() => [] as string[]);
  return names.filter((n) => /^step-\d+$/.test(n)).sort();
}

export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const names = await listCheckpoints(runDir);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    await rm(join(runDir, 'checkpoints', name), { recursive: true, force: true });
  }
}

/** The run folder of a checkpoint folder (…/RUN/checkpoints/step-N → …/RUN). */
export function runFolderOf(checkpointDir: string): string {
  return join(checkpointDir, '..', '..');
}
