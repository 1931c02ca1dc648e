/**
 * Where a training step's wall time goes, for `npm run bench:train`.
 *
 * Every kernel registered for the wasm backend is wrapped with a timer (two `performance.now`
 * calls, far below a kernel's cost), and each optimizer's `applyGradients` with a phase marker.
 * The same timed steps then give the step's wall time and its kernel time, so the table adds up:
 * kernel time outside the optimizer by kind, the optimizer's whole wall time (its kernels and
 * their dispatch), and the rest of the step as tfjs dispatch and other (the engine's tensor
 * bookkeeping, tapes and tidy scopes, tf.layers, reading the losses).
 *
 * Conv rows go by kernel name. conv2dTranspose runs as Conv2DBackpropInput forward and as Conv2D
 * in its input gradient, so for a net with transposed convs those two rows swap that part.
 */
import * as tf from '@tensorflow/tfjs';

type Shape = number[];

export type ConvKind = 'forward' | 'input gradient' | 'filter gradient';

/** Table rows in print order; "optimizer" and "tfjs dispatch and other" are filled from wall times. */
const KINDS = [
  'conv forward (Conv2D, FusedConv2D)',
  'conv input gradient (Conv2DBackpropInput)',
  'conv filter gradient (Conv2DBackpropFilter)',
  'normalisation (instance norm and its gradient)',
  'padding (MirrorPad and its gradient)',
  'elementwise',
  'reductions',
  'copies and layout',
  'other kernels',
  'optimizer (Adam, whole applyGradients)',
  'tfjs dispatch and other',
] as const;
type Kind = (typeof KINDS)[number];

const KIND_OF: Record<string, Kind> = {
  Conv2D: 'conv forward (Conv2D, FusedConv2D)',
  FusedConv2D: 'conv forward (Conv2D, FusedConv2D)',
  Conv2DBackpropInput: 'conv input gradient (Conv2DBackpropInput)',
  Conv2DBackpropFilter: 'conv filter gradient (Conv2DBackpropFilter)',
  MirrorPad: 'padding (MirrorPad and its gradient)',
  GanserveMirrorPadGrad: 'padding (MirrorPad and its gradient)',
  PadV2: 'padding (MirrorPad and its gradient)',
};
const NORMALISATION = /InstanceNorm/;
const REDUCTIONS = new Set(['Sum', 'Mean', 'Max', 'Min', 'Prod', 'ArgMax', 'ArgMin', 'All', 'Any']);
// Kernels that move or relabel values without arithmetic. onnxruntime reads and writes the wasm
// heap in place (training/backend/wasm-heap.ts), so no kernel copies between the two.
const COPIES = new Set([
  'Transpose',
  'Slice',
  'Concat',
  'Identity',
  'Reshape',
  'Cast',
  'Pack',
  'Unpack',
  'Tile',
  'Reverse',
  'GatherV2',
  'StridedSlice',
]);
const ELEMENTWISE = new Set([
  'Abs',
  'Add',
  'AddN',
  'Cos',
  'Div',
  'Elu',
  'EluGrad',
  'Equal',
  'Exp',
  'Fill',
  'FloorDiv',
  'Greater',
  'GreaterEqual',
  'LeakyRelu',
  'Less',
  'LessEqual',
  'Log',
  'Maximum',
  'Minimum',
  'Mod',
  'Multiply',
  'Neg',
  'NotEqual',
  'OnesLike',
  'Pow',
  'Prelu',
  'RealDiv',
  'Relu',
  'Relu6',
  'Round',
  'Rsqrt',
  'Select',
  'Sigmoid',
  'Sign',
  'Sin',
  'Softplus',
  'Sqrt',
  'Square',
  'SquaredDifference',
  'Step',
  'Sub',
  'Tanh',
  'ZerosLike',
  'ClipByValue',
  'LogicalAnd',
  'Floor',
  'Ceil',
]);

function kindOf(kernelName: string): Kind {
  if (KIND_OF[kernelName]) return KIND_OF[kernelName];
  if (NORMALISATION.test(kernelName)) return 'normalisation (instance norm and its gradient)';
  if (REDUCTIONS.has(kernelName)) return 'reductions';
  if (COPIES.has(kernelName)) return 'copies and layout';
  if (ELEMENTWISE.has(kernelName)) return 'elementwise';
  return 'other kernels';
}

/** FLOPs of a conv kernel call from its shapes (2 per multiply-add), or undefined for other kernels. */
function convCost(name: string, inputs: Shape[], output: Shape): { kind: ConvKind; flops: number } | undefined {
  const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const [kh, kw, cin] = inputs[1]!;
      return { kind: 'forward', flops: 2 * size(output) * kh! * kw! * cin! };
    }
    case 'Conv2DBackpropInput': {
      const [kh, kw, cin] = inputs[1]!;
      return { kind: 'input gradient', flops: 2 * size(inputs[0]!) * kh! * kw! * cin! };
    }
    case 'Conv2DBackpropFilter': {
      const [kh, kw, cin] = output;
      return { kind: 'filter gradient', flops: 2 * size(inputs[1]!) * kh! * kw! * cin! };
    }
    default:
      return undefined;
  }
}

/** A conv call's table label: direction, the shapes it maps (NHWC), its filter and stride. */
function convLayerKey(kind: ConvKind, args: Parameters<tf.KernelFunc>[0], output: Shape): string {
  const shapes = Object.values(args.inputs).map((input) => input?.shape ?? []);
  const strides = (args.attrs as { strides?: number | number[] } | undefined)?.strides;
  const stride = Array.isArray(strides) ? strides[0] : (strides ?? 1);
  const dims = (shape: Shape) => shape.join('×');
  // Forward: x → y with filter; input gradient: dy → dx; filter gradient: x and dy → dW.
  const [from, filter] = kind === 'filter gradient' ? [shapes[0]!, output] : [shapes[0]!, shapes[1]!];
  const to = kind === 'filter gradient' ? shapes[1]! : output;
  return `${kind}, ${dims(from)} → ${dims(to)}, ${dims(filter)}, s${stride}`;
}

/** Accumulated kernel and phase times over the steps run between `reset` calls. */
export class StepProfiler {
  private readonly kernelMs = new Map<Kind, number>();
  private readonly kernelCalls = new Map<Kind, number>();
  private readonly otherNames = new Set<string>();
  private optimizerKernelMs = 0;
  private optimizerMs = 0;
  private inOptimizer = false;
  readonly convFlops: Record<ConvKind, number> = { forward: 0, 'input gradient': 0, 'filter gradient': 0 };
  private readonly convLayers = new Map<string, { ms: number; flops: number }>();
  private unwrap: (() => void) | undefined;

  /** Wraps the active backend's kernels with timers. Call `detach` before switching backends. */
  attach(): void {
    const backendName = tf.getBackend();
    const wrapped = tf.getKernelsForBackend(backendName);
    for (const config of wrapped) {
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel({
        ...config,
        kernelFunc: (args) => {
          const start = performance.now();
          const result = config.kernelFunc(args);
          this.record(config.kernelName, performance.now() - start, args, result);
          return result;
        },
      });
    }
    this.unwrap = () => {
      for (const config of wrapped) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    };
  }

  detach(): void {
    this.unwrap?.();
    this.unwrap = undefined;
  }

  /** Times each `applyGradients` of these optimizers as the optimizer phase. */
  watchOptimizers(optimizers: tf.Optimizer[]): void {
    for (const optimizer of optimizers) {
      const apply = optimizer.applyGradients.bind(optimizer);
      optimizer.applyGradients = (gradients) => {
        const start = performance.now();
        this.inOptimizer = true;
        try {
          apply(gradients);
        } finally {
          this.inOptimizer = false;
          this.optimizerMs += performance.now() - start;
        }
      };
    }
  }

  reset(): void {
    this.kernelMs.clear();
    this.kernelCalls.clear();
    this.otherNames.clear();
    this.optimizerKernelMs = 0;
    this.optimizerMs = 0;
    this.convFlops.forward = 0;
    this.convFlops['input gradient'] = 0;
    this.convFlops['filter gradient'] = 0;
    this.convLayers.clear();
  }

  private record(name: string, ms: number, args: Parameters<tf.KernelFunc>[0], result: tf.TensorInfo | tf.TensorInfo[]): void {
    if (this.inOptimizer) {
      this.optimizerKernelMs += ms;
      return;
    }
    const kind = kindOf(name);
    if (kind === 'other kernels') this.otherNames.add(name);
    this.kernelMs.set(kind, (this.kernelMs.get(kind) ?? 0) + ms);
    this.kernelCalls.set(kind, (this.kernelCalls.get(kind) ?? 0) + 1);
    const output = Array.isArray(result) ? result[0] : result;
    const cost = convCost(
      name,
      Object.values(args.inputs).map((input) => input?.shape ?? []),
      output?.shape ?? [],
    );
    if (!cost) return;
    this.convFlops[cost.kind] += cost.flops;
    const key = convLayerKey(cost.kind, args, output?.shape ?? []);
    const layer = this.convLayers.get(key) ?? { ms: 0, flops: 0 };
    layer.ms += ms;
    layer.flops += cost.flops;
    this.convLayers.set(key, layer);
  }

  /**
   * Conv time by layer shape and direction, slowest first, for the `rows` costliest: where the
   * convs fall short of the ceiling (stride-2 layers, thin stems, 1-channel heads).
   */
  convLayerTable(steps: number, rows = 12): string {
    const sorted = [...this.convLayers].sort((a, b) => b[1].ms - a[1].ms);
    const totalMs = sorted.reduce((sum, [, layer]) => sum + layer.ms, 0);
    const lines = [
      '| conv (direction, input → output, filter, stride) | ms per step | share of conv time | GFLOP/s |',
      '| --- | ---: | ---: | ---: |',
    ];
    for (const [key, layer] of sorted.slice(0, rows)) {
      lines.push(
        `| ${key} | ${(layer.ms / steps).toFixed(1)} | ${((100 * layer.ms) / totalMs).toFixed(1)} % | ${(layer.flops / layer.ms / 1e6).toFixed(1)} |`,
      );
    }
    if (sorted.length > rows) {
      const rest = sorted.slice(rows).reduce((sum, [, layer]) => sum + layer.ms, 0);
      lines.push(`| ${sorted.length - rows} other shapes | ${(rest / steps).toFixed(1)} | ${((100 * rest) / totalMs).toFixed(1)} % | |`);
    }
    return lines.join('\n');
  }

  /**
   * A markdown table of `wallMs` (the summed wall time of the steps run since `reset`), per step.
   * Rows add up to 100 %.
   */
  table(wallMs: number, steps: number): string {
    const rows = new Map<Kind, { ms: number; calls: number | undefined }>();
    let kernelMs = 0;
    for (const kind of KINDS) {
      const ms = this.kernelMs.get(kind) ?? 0;
      kernelMs += ms;
      rows.set(kind, { ms, calls: this.kernelCalls.get(kind) ?? 0 });
    }
    rows.set('optimizer (Adam, whole applyGradients)', { ms: this.optimizerMs, calls: undefined });
    rows.set('tfjs dispatch and other', { ms: wallMs - kernelMs - this.optimizerMs, calls: undefined });
    const lines = ['| kind | ms per step | share | kernel calls per step |', '| --- | ---: | ---: | ---: |'];
    for (const [kind, { ms, calls }] of rows) {
      const label =
        kind === 'other kernels' && this.otherNames.size > 0 ? `other kernels (${[...this.otherNames].sort().join(', ')})` : kind;
      lines.push(
        `| ${label} | ${(ms / steps).toFixed(1)} | ${((100 * ms) / wallMs).toFixed(1)} % | ${calls === undefined ? '' : Math.round(calls / steps)} |`,
      );
    }
    lines.push(`| **step** | **${(wallMs / steps).toFixed(1)}** | **100 %** | |`);
    const optimizerShare = this.optimizerMs > 0 ? (100 * this.optimizerKernelMs) / this.optimizerMs : 0;
    lines.push('', `(the optimizer's kernels are ${optimizerShare.toFixed(0)} % of its time; the rest is their dispatch)`);
    return lines.join('\n');
  }
}
