/**
 * Picks the tfjs backend training runs on, once, and says which one runs.
 *
 * 'auto' prefers @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (optional dependencies that
 * only load where libtensorflow could be installed), then 'wasm-ort': tfjs-backend-wasm with the
 * heavy kernels delegated to onnxruntime-node (see ort-kernels.ts). TRAIN_BACKEND or an explicit
 * preference (the CLI's --backend) forces one; a forced backend that cannot load is an error.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerMirrorPadGradient } from './mirror-pad-grad.ts';
import { DELEGATED_KERNELS, ortKernelsRegistered, registerOrtKernels, unregisterOrtKernels } from './ort-kernels.ts';
import { checkOrtSyncPath, ortThreadCount, PINNED_ORT_VERSION } from './ort-sync.ts';
import { nchwcBlockSize } from './nchwc.ts';
import { loadSimdKernels } from './simd-kernels.ts';

export const BACKEND_CHOICES = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm-ort', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface SelectBackendOptions {
  /** Where the "backend: ..." line goes; console.log by default. */
  log?: (line: string) => void;
  /** Environment to read TRAIN_BACKEND from; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export function isBackendPreference(value: string): value is BackendPreference {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}

let selected: { request: BackendPreference; name: BackendName } | undefined;

/**
 * Activates and returns the training backend. Calling it again with the same request returns the
 * same backend without re-initialising or logging (unless something else switched tfjs away from
 * it meanwhile); a different explicit request switches.
 */
export async function selectBackend(preference: BackendPreference = 'auto', options: SelectBackendOptions = {}): Promise<BackendName> {
  const request = resolveRequest(preference, options.env ?? process.env);
  if (selected && selected.request === request && stillActive(selected.name)) return selected.name;
  const log = options.log ?? ((line: string) => console.log(line));
  const reasons: string[] = [];
  registerMirrorPadGradient();
  const name = request === 'auto' ? await activateFirstAvailable(reasons) : await activate(request);
  selected = { request, name };
  const skipped = reasons.length > 0 ? `; skipped ${reasons.join('; ')}` : '';
  log(`[train] backend: ${name} (${describe(name)})${skipped}`);
  return name;
}

/** Whether tfjs still runs the given backend (nothing called tf.setBackend behind our back). */
function stillActive(name: BackendName): boolean {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return tf.getBackend() === 'tensorflow';
    case 'wasm-ort':
      return tf.getBackend() === 'wasm' && ortKernelsRegistered();
    case 'wasm':
      return tf.getBackend() === 'wasm' && !ortKernelsRegistered();
    case 'cpu':
      return tf.getBackend() === 'cpu';
  }
}

function resolveRequest(preference: BackendPreference, env: NodeJS.ProcessEnv): BackendPreference {
  if (!isBackendPreference(preference))
    throw new Error(`unknown backend '${String(preference)}'; expected one of ${BACKEND_CHOICES.join(', ')}`);
  if (preference !== 'auto') return preference;
  const fromEnv = env.TRAIN_BACKEND?.trim();
  if (!fromEnv) return 'auto';
  if (!isBackendPreference(fromEnv)) throw new Error(`TRAIN_BACKEND='${fromEnv}' is not one of ${BACKEND_CHOICES.join(', ')}`);
  return fromEnv;
}

async function activateFirstAvailable(reasons: string[]): Promise<BackendName> {
  for (const candidate of ['tfjs-node-gpu', 'tfjs-node'] as const) {
    try {
      return await activate(candidate);
    } catch (error) {
      reasons.push(`${candidate}: ${firstLine(error)}`);
    }
  }
  return activate('wasm-ort');
}

async function activate(name: BackendName): Promise<BackendName> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      await loadOptionalModule(`@tensorflow/${name}`);
      await setTfBackend('tensorflow');
      return name;
    case 'wasm-ort':
      checkOrtSyncPath();
      await setTfBackend('wasm');
      await loadSimdKernels(tf.backend() as BackendWasm);
      registerOrtKernels();
      return name;
    case 'wasm':
      await setTfBackend('wasm');
      unregisterOrtKernels();
      return name;
    case 'cpu':
      await setTfBackend('cpu');
      return name;
  }
}

/** Imports an optional dependency by a computed name, so TypeScript does not require it installed. */
async function loadOptionalModule(specifier: string): Promise<void> {
  await import(specifier);
}

async function setTfBackend(tfName: string): Promise<void> {
  if (!(await tf.setBackend(tfName))) throw new Error(`tfjs could not initialise its '${tfName}' backend`);
  await tf.ready();
}

function nchwcDescription(): string {
  const block = nchwcBlockSize();
  if (block > 0) return `convolutions as NCHWc in blocks of ${block}`;
  return process.env.TRAIN_NCHWC === '0' ? 'NCHWc convolutions off (TRAIN_NCHWC=0)' : 'no NCHWc kernels on this CPU';
}

function describe(name: BackendName): string {
  switch (name) {
    case 'tfjs-node-gpu':
      return 'libtensorflow with CUDA';
    case 'tfjs-node':
      return 'libtensorflow on CPU';
    case 'wasm-ort':
      return `tfjs-backend-wasm SIMD; ${DELEGATED_KERNELS.join(', ')} on onnxruntime-node ${PINNED_ORT_VERSION} with ${ortThreadCount()} threads, ${nchwcDescription()}`;
    case 'wasm':
      return 'tfjs-backend-wasm SIMD, its own kernels only: cannot train convolutions (no Conv2DBackpropFilter)';
    case 'cpu':
      return 'tfjs pure-JS reference kernels; very slow';
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 160);
}
