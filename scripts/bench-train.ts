/**
 * `npm run bench:train`: one fixed CycleGAN-style training step on the 'wasm-ort' backend.
 *
 * The step is one direction of CycleGAN (generator G: A→B and discriminator D_B) at the paper's
 * settings scaled to a CPU: 128×128 crops, batch 1, the project's ResNet generator (reflect pad,
 * 7×7 stem, 2 stride-2 downsamplings, 6 residual blocks, 2 stride-2 transposed convs, tanh; 32
 * base filters) and 70×70 PatchGAN (32 base filters), LSGAN losses plus an L1 term, forward +
 * backward + Adam for both nets.
 *
 * Prints the step time, where it goes, the same step's conv cost on plain wasm and on pure-JS cpu
 * extrapolated from one layer (a full step there takes minutes, or cannot run at all), and as the
 * last line: `effective X GFLOP/s (onnxruntime conv ceiling Y GFLOP/s)`, X = conv FLOPs per step /
 * step time, Y = one 3×3 conv over 4×64×64×32 run directly on onnxruntime in this process.
 */
import * as tf from '@tensorflow/tfjs';
import { ortThreadCount, SyncSession } from '../training/backend/ort-sync.ts';
import { selectBackend } from '../training/backend/select.ts';
import { OnnxGraph } from '../training/export/onnx-graph.ts';
import { patchDiscriminator, resnetGenerator } from '../training/nets/cyclegan.ts';
import { percentile } from './bench/stats.ts';

const CROP = 128;
const BATCH = 1;
const GENERATOR = { filters: 32, blocks: 6, downsamplings: 2, channels: 3, upsampling: 'transpose' as const, seed: 1 };
const DISCRIMINATOR = { filters: 32, layers: 3, channels: 3, seed: 2 };
const WARMUP_STEPS = 2;
const TIMED_STEPS = 8;
const L1_WEIGHT = 10;

type Shape = number[];
const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1);
const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const fmt = (value: number, digits = 1) => value.toFixed(digits);

/** One training step: G's update through D, then D's update on a real and the fake batch. */
function makeStep(): () => void {
  const generator = resnetGenerator(GENERATOR);
  const discriminator = patchDiscriminator(DISCRIMINATOR);
  const variables = (model: tf.LayersModel) => model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const generatorVariables = variables(generator);
  const discriminatorVariables = variables(discriminator);
  const generatorOptimizer = tf.train.adam(2e-4, 0.5);
  const discriminatorOptimizer = tf.train.adam(2e-4, 0.5);
  const realA = tf.randomUniform([BATCH, CROP, CROP, 3], -1, 1, 'float32', 3);
  const realB = tf.randomUniform([BATCH, CROP, CROP, 3], -1, 1, 'float32', 4);
  const squaredDistance = (x: tf.Tensor, target: number) => tf.mean(tf.square(tf.sub(x, target)));

  return () => {
    let fake: tf.Tensor | undefined;
    const generatorLoss = generatorOptimizer.minimize(
      () => {
        const produced = generator.apply(realA, { training: true }) as tf.Tensor;
        fake = tf.keep(produced);
        const adversarial = squaredDistance(discriminator.apply(produced, { training: true }) as tf.Tensor, 1);
        return tf.add(adversarial, tf.mul(L1_WEIGHT, tf.mean(tf.abs(tf.sub(produced, realA))))) as tf.Scalar;
      },
      true,
      generatorVariables,
    )!;
    const discriminatorLoss = discriminatorOptimizer.minimize(
      () => {
        const real = squaredDistance(discriminator.apply(realB, { training: true }) as tf.Tensor, 1);
        const forged = squaredDistance(discriminator.apply(fake!, { training: true }) as tf.Tensor, 0);
        return tf.mul(0.5, tf.add(real, forged)) as tf.Scalar;
      },
      true,
      discriminatorVariables,
    )!;
    // Reading the losses waits for every kernel, as a real training loop's logging does.
    generatorLoss.dataSync();
    discriminatorLoss.dataSync();
    tf.dispose([generatorLoss, discriminatorLoss, fake!]);
  };
}

type ConvKind = 'forward' | 'input gradient' | 'filter gradient';

/** FLOPs of a conv kernel call from its shapes (2 per multiply-add), or undefined for other kernels. */
function convCost(kernel: { name: string; inputShapes: Shape[]; outputShapes: Shape[] }): { kind: ConvKind; flops: number } | undefined {
  switch (kernel.name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const [kh, kw, cin] = kernel.inputShapes[1]!;
      return { kind: 'forward', flops: 2 * sizeOf(kernel.outputShapes[0]!) * kh! * kw! * cin! };
    }
    case 'Conv2DBackpropInput': {
      const [kh, kw, cin] = kernel.inputShapes[1]!;
      return { kind: 'input gradient', flops: 2 * sizeOf(kernel.inputShapes[0]!) * kh! * kw! * cin! };
    }
    case 'Conv2DBackpropFilter': {
      const [kh, kw, cin] = kernel.outputShapes[0]!;
      return { kind: 'filter gradient', flops: 2 * sizeOf(kernel.inputShapes[1]!) * kh! * kw! * cin! };
    }
    default:
      return undefined;
  }
}

/** Runs one step under tf.profile: conv FLOPs by kind, and kernel time by category. */
async function profileStep(step: () => void) {
  const info = await tf.profile(step);
  const flops: Record<ConvKind, number> = { forward: 0, 'input gradient': 0, 'filter gradient': 0 };
  const timeByKernel = new Map<string, number>();
  for (const kernel of info.kernels) {
    // Records named "...__op" are customGrad wrappers (fused ops) around kernels listed on their own.
    if (kernel.name.endsWith('__op')) continue;
    const cost = convCost(kernel as unknown as { name: string; inputShapes: Shape[]; outputShapes: Shape[] });
    if (cost) flops[cost.kind] += cost.flops;
    timeByKernel.set(kernel.name, (timeByKernel.get(kernel.name) ?? 0) + Number(kernel.kernelTimeMs));
  }
  return { flops, timeByKernel, kernelCalls: info.kernels.length };
}

/** Wall time of `run`, best and median of `repeats` after one warm-up call. */
function timeCalls(run: () => void, repeats: number): { best: number; median: number } {
  run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i += 1) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return { best: Math.min(...times), median: percentile(times, 0.5) };
}

/** Y: a 3×3 'same' conv over 4×64×64×32 → 32 as a bare NCHW onnxruntime graph, as in the issue. */
function onnxruntimeConvCeiling(): number {
  const [n, c, h, w, k] = [4, 32, 64, 64, 3];
  const g = new OnnxGraph('ceiling');
  g.input('x', 'float', [n, c, h, w]);
  g.input('w', 'float', [c, c, k, k]);
  g.output(g.op('Conv', ['x', 'w'], { kernel_shape: [k, k], pads: [1, 1, 1, 1] }, 'y'), 'float', [n, c, h, w]);
  const session = new SyncSession(g.toBytes());
  const x = { data: Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i)), dims: [n, c, h, w] };
  const weights = { data: Float32Array.from({ length: c * c * k * k }, (_, i) => Math.cos(i) * 0.1), dims: [c, c, k, k] };
  const y = { data: new Float32Array(n * c * h * w), dims: [n, c, h, w] };
  const { best } = timeCalls(() => session.run({ x, w: weights }, { y }), 20);
  return gflops(2 * n * h * w * c * c * k * k, best);
}

/**
 * GFLOP/s of each conv kind on the current backend for one 3×3 layer (1×32×32×32 → 32); NaN where
 * the backend has no kernel. Tensors are made outside the timed calls; each result is read back.
 */
function convRatesOnOneLayer(repeats: number): Record<ConvKind, number> {
  const x = tf.randomNormal([1, 32, 32, 32]) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
  const dy = tf.randomNormal([1, 32, 32, 32]) as tf.Tensor4D;
  const flops = 2 * 32 * 32 * 32 * 32 * 9;
  const measure = (op: () => tf.Tensor): number => {
    try {
      const run = () => {
        const result = op();
        result.dataSync();
        result.dispose();
      };
      return gflops(flops, timeCalls(run, repeats).best);
    } catch {
      return Number.NaN;
    }
  };
  const rates = {
    forward: measure(() => tf.conv2d(x, filter, 1, 'same')),
    'input gradient': measure(() => tf.conv2dTranspose(dy, filter, [1, 32, 32, 32], 1, 'same')),
    'filter gradient': tf.getKernel(tf.Conv2DBackpropFilter, tf.getBackend())
      ? measure(
          () =>
            tf
              .engine()
              .runKernel(
                tf.Conv2DBackpropFilter,
                { x, dy },
                { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 32, 32] },
              ) as tf.Tensor,
        )
      : Number.NaN,
  };
  tf.dispose([x, filter, dy]);
  return rates;
}

function extrapolatedConvSeconds(flops: Record<ConvKind, number>, rates: Record<ConvKind, number>, kinds: ConvKind[]): number {
  return kinds.reduce((sum, kind) => sum + flops[kind] / (rates[kind] * 1e9), 0);
}

async function main(): Promise<void> {
  await selectBackend('wasm-ort');
  console.log(
    `step: one CycleGAN direction (G A→B + D_B), ${BATCH}×${CROP}×${CROP}, ResNet G ${GENERATOR.filters} filters/${GENERATOR.blocks} blocks, PatchGAN ${DISCRIMINATOR.filters} filters; forward + backward + Adam`,
  );
  console.log(`onnxruntime threads: ${ortThreadCount()} (the machine may be shared: figures are for this run only)`);

  const step = makeStep();
  for (let i = 0; i < WARMUP_STEPS; i += 1) step();
  const profile = await profileStep(step);
  const convFlops = profile.flops.forward + profile.flops['input gradient'] + profile.flops['filter gradient'];
  const stepTimes: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < TIMED_STEPS; i += 1) {
    const start = performance.now();
    step();
    stepTimes.push(performance.now() - start);
  }
  const cpuUsed = process.cpuUsage(cpuBefore);
  const cpuMsPerStep = (cpuUsed.user + cpuUsed.system) / 1000 / TIMED_STEPS;
  const stepMs = percentile(stepTimes, 0.5);
  console.log(
    `conv FLOPs per step: ${fmt(convFlops / 1e9, 2)} G (forward ${fmt(profile.flops.forward / 1e9, 2)}, input gradients ${fmt(profile.flops['input gradient'] / 1e9, 2)}, filter gradients ${fmt(profile.flops['filter gradient'] / 1e9, 2)}); ${profile.kernelCalls} kernel calls`,
  );
  console.log(`wasm-ort step: median ${fmt(stepMs, 0)} ms, best ${fmt(Math.min(...stepTimes), 0)} ms over ${TIMED_STEPS} steps`);
  // CPU time is what the step itself consumed, whatever else the machine runs. Nothing here waits
  // or spins, so an idle machine's wall time is at most this: conv FLOPs / CPU time is a lower
  // bound for the effective figure there.
  console.log(
    `CPU time per step: ${fmt(cpuMsPerStep, 0)} ms (all threads) → ${fmt(gflops(convFlops, cpuMsPerStep))} GFLOP per CPU-second, a lower bound for the effective figure on an idle machine`,
  );
  const profiled = [...profile.timeByKernel].sort((a, b) => b[1] - a[1]);
  const profiledTotal = profiled.reduce((sum, [, ms]) => sum + ms, 0);
  console.log(
    `profiled kernel time: ${profiled
      .slice(0, 8)
      .map(([name, ms]) => `${name} ${fmt((100 * ms) / profiledTotal, 0)}%`)
      .join(', ')}`,
  );

  const ortRates = convRatesOnOneLayer(5);
  await selectBackend('wasm');
  const wasmRates = convRatesOnOneLayer(3);
  await selectBackend('cpu');
  const cpuRates = convRatesOnOneLayer(1);
  await selectBackend('wasm-ort');
  const rate = (r: Record<ConvKind, number>) =>
    `forward ${fmt(r.forward)}, input gradient ${fmt(r['input gradient'])}, filter gradient ${Number.isNaN(r['filter gradient']) ? 'no kernel' : fmt(r['filter gradient'], 2)}`;
  console.log(
    `one 3×3 layer (1×32×32×32→32), GFLOP/s: wasm-ort ${rate(ortRates)}; plain wasm ${rate(wasmRates)}; pure-JS cpu ${rate(cpuRates)}`,
  );
  const wasmConvSeconds = extrapolatedConvSeconds(profile.flops, wasmRates, ['forward', 'input gradient']);
  const cpuConvSeconds = extrapolatedConvSeconds(profile.flops, cpuRates, ['forward', 'input gradient', 'filter gradient']);
  console.log(
    `plain wasm: cannot run this step (no Conv2DBackpropFilter kernel); its forward and input-gradient convs alone would take ≈ ${fmt(wasmConvSeconds)} s/step (extrapolated from the layer above)`,
  );
  console.log(
    `pure-JS cpu: its convs alone would take ≈ ${fmt(cpuConvSeconds)} s/step (extrapolated), ${fmt(cpuConvSeconds / (stepMs / 1000), 0)}× this step`,
  );

  const ceiling = onnxruntimeConvCeiling();
  console.log(`effective ${fmt(gflops(convFlops, stepMs))} GFLOP/s (onnxruntime conv ceiling ${fmt(ceiling)} GFLOP/s)`);
}

await main();
