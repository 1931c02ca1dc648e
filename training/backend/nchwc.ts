/**
 * onnxruntime's NCHWc convolution, called directly from the conv kernels' graphs.
 *
 * onnxruntime's fastest CPU convolution is MLAS's NCHWc kernel: activations in channel blocks of
 * B floats (16 with AVX-512, 8 with AVX2), a direct convolution without im2col. Its graph
 * optimizer only switches a model to it when the weights are constant initializers, which the
 * training kernels' weights (graph inputs, new every step) never are. The kernels therefore write
 * the NCHWc ops themselves, from the 'com.microsoft.nchwc' domain: `ReorderInput` reads the NHWC
 * activations as they are (channels_last), `Conv` reads the filter already blocked
 * (filter-layouts.ts), and `ReorderOutput` writes NHWC back. That also replaces the two NHWC ↔
 * NCHW transposes around every plain `Conv`. Measured on the bench step's shapes, one graph each:
 * 1.2-1.7× the plain graph's speed (docs/training-backend.md).
 *
 * The ops exist only where MLAS has NCHWc kernels for the CPU, so the block size is probed once
 * with `ReorderInput`; without them the kernels keep the plain formulations.
 * TRAIN_NCHWC=0 turns the path off (for comparisons, or should an onnxruntime build misbehave).
 */
import { ElemType, OnnxGraph } from '../export/onnx-graph.ts';
import { SyncSession } from './ort-sync.ts';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

let probed: number | undefined;
let enabled = process.env.TRAIN_NCHWC !== '0';

/**
 * ReorderInput pads the channels up to a whole block, so the shape of its output for 4 channels
 * (its minimum) holds the block size. 0 where the ops are missing (the model fails to load).
 */
function probeBlockSize(): number {
  const g = new OnnxGraph('nchwc_probe');
  g.input('x', 'float', [1, 4, 1, 1]);
  const shape = g.op('Shape', [g.op('ReorderInput', ['x'], { channels_last: 0 }, undefined, NCHWC_DOMAIN)]);
  const channels = g.op('Slice', [shape, g.int64s('starts', [1]), g.int64s('ends', [2])]);
  g.output(g.op('Cast', [channels], { to: ElemType.float }, 'block'), 'float', [1]);
  let session: SyncSession;
  try {
    session = new SyncSession(g.toBytes(), 1);
  } catch {
    return 0;
  }
  const block = new Float32Array(1);
  session.run({ x: { data: new Float32Array(4), dims: [1, 4, 1, 1] } }, { block: { data: block, dims: [1] } });
  return block[0]!;
}

/** The NCHWc block size of this CPU's MLAS kernels, or 0 where they are missing or turned off. */
export function nchwcBlockSize(): number {
  if (!enabled) return 0;
  probed ??= probeBlockSize();
  return probed;
}

/** Turns the NCHWc path on or off (tests run both paths; TRAIN_NCHWC=0 sets the default). */
export function useNchwc(on: boolean): void {
  enabled = on;
}

/** Whether a conv with these channel counts can run as NCHWc: both whole blocks. */
export function nchwcFits(inChannels: number, outChannels: number): boolean {
  const block = nchwcBlockSize();
  return block > 0 && inChannels % block === 0 && outChannels % block === 0;
}

/**
 * Appends y = conv(x) for NHWC x and y, as ReorderInput → NCHWc Conv → ReorderOutput; the filter
 * input holds the blocked layout ('nchwc' or 'flippedNchwc' in filter-layouts.ts).
 */
export function appendNchwcConv(
  g: OnnxGraph,
  x: string,
  filter: string,
  outChannels: number,
  attrs: { kernel_shape: number[]; strides: number[]; dilations: number[]; pads: number[] },
): string {
  const blocked = g.op('ReorderInput', [x], { channels_last: 1 }, undefined, NCHWC_DOMAIN);
  const conv = g.op('Conv', [blocked, filter], { ...attrs, group: 1 }, undefined, NCHWC_DOMAIN);
  return g.op('ReorderOutput', [conv], { channels: outChannels, channels_last: 1 }, undefined, NCHWC_DOMAIN);
}
