/**
 * `npm run bench:train`: one fixed CycleGAN-style training step on the 'wasm-ort' backend.
 *
 * The step is one direction of CycleGAN (generator G: A→B and discriminator D_B) at the paper's
 * settings scaled to a CPU: 128×128 crops, batch 1, the project's ResNet generator (reflect pad,
 * 7×7 stem, 2 stride-2 downsamplings, 6 residual blocks, 2 stride-2 transposed convs, tanh; 32
 * base filters) and 70×70 PatchGAN (32 base filters), LSGAN losses plus an L1 term, forward +
 * backward + Adam for both nets.
 *
 * Prints the step time, a table of where its wall time goes (scripts/bench/step-profile.ts) and its
 * conv time by layer; the same table for the `photo2anime` recipe's own training step (its four
 * nets and all its losses, on crops of data/photo2anime); the bench step's conv cost on plain
 * wasm and on pure-JS cpu extrapolated from one layer (a full step there takes minutes, or cannot
 * run at all); and as the last line: `effective X GFLOP/s (onnxruntime conv ceiling Y GFLOP/s)`,
 * X = conv FLOPs per step / median step time, Y = one 3×3 conv over 4×64×64×32 run directly on
 * onnxruntime in this process.
 */
import * as tf from '@tensorflow/tfjs';
import { adam } from '../training/backend/fused-adam.ts';
import { ortThreadCount, SyncSession } from '../training/backend/ort-sync.ts';
import { selectBackend } from '../training/backend/select.ts';
import { OnnxGraph } from '../training/export/onnx-graph.ts';
import { stepSeed } from '../training/harness.ts';
import { patchDiscriminator, resnetGenerator } from '../training/nets/cyclegan.ts';
import { photo2animeRecipe } from '../training/recipes/photo2anime.ts';
import { seededRandom } from '../training/data/random.ts';
import { percentile } from './bench/stats.ts';
import { type ConvKind, StepProfiler } from './bench/step-profile.ts';

const CROP = 128;
const BATCH = 1;
const GENERATOR = { filters: 32, blocks: 6, downsamplings: 2, channels: 3, upsampling: 'transpose' as const, seed: 1 };
const DISCRIMINATOR = { filters: 32, layers: 3, channels: 3, seed: 2 };
const WARMUP_STEPS = 2;
const TIMED_STEPS = 24;
const RECIPE_WARMUP_STEPS = 2;
const RECIPE_TIMED_STEPS = 4;
const L1_WEIGHT = 10;

const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const fmt = (value: number, digits = 1) => value.toFixed(digits);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * One training step: G's gradients through D and G's update, then D's gradients on a real and the
 * fake batch and D's update. variableGrads + applyGradients (as the recipes do) rather than
 * minimize, so the profile sees the optimizer as its own phase.
 */
function makeStep(): { step: () => void; optimizers: tf.Optimizer[] } {
  const generator = resnetGenerator(GENERATOR);
  const discriminator = patchDiscriminator(DISCRIMINATOR);
  const variables = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);
  const generatorVariables = variables(generator);
  const discriminatorVariables = variables(discriminator);
  const generatorOptimizer = adam(2e-4, 0.5);
  const discriminatorOptimizer = adam(2e-4, 0.5);
  const realA = tf.randomUniform([BATCH, CROP, CROP, 3], -1, 1, 'float32', 3);
  const realB = tf.randomUniform([BATCH, CROP, CROP, 3], -1, 1, 'float32', 4);
  const squaredDistance = (x: tf.Tensor, target: number) => tf.mean(tf.square(tf.sub(x, target)));

  const step = () => {
    let fake: tf.Tensor | undefined;
    const generatorStep = tf.variableGrads(() => {
      const produced = generator.apply(realA, { training: true }) as tf.Tensor;
      fake = tf.keep(produced);
      const adversarial = squaredDistance(discriminator.apply(produced, { training: true }) as tf.Tensor, 1);
      return tf.add(adversarial, tf.mul(L1_WEIGHT, tf.mean(tf.abs(tf.sub(produced, realA))))) as tf.Scalar;
    }, generatorVariables);
    generatorOptimizer.applyGradients(generatorStep.grads as Record<string, tf.Variable>);
    const discriminatorStep = tf.variableGrads(() => {
      const real = squaredDistance(discriminator.apply(realB, { training: true }) as tf.Tensor, 1);
      const forged = squaredDistance(discriminator.apply(fake!, { training: true }) as tf.Tensor, 0);
      return tf.mul(0.5, tf.add(real, forged)) as tf.Scalar;
    }, discriminatorVariables);
    discriminatorOptimizer.applyGradients(discriminatorStep.grads as Record<string, tf.Variable>);
    // Reading the losses waits for every kernel, as a real training loop's logging does.
    generatorStep.value.dataSync();
    discriminatorStep.value.dataSync();
    tf.dispose([generatorStep.value, discriminatorStep.value, generatorStep.grads, discriminatorStep.grads, fake!]);
  };
  return { step, optimizers: [generatorOptimizer, discriminatorOptimizer] };
}

/** The photo2anime recipe's adversarial training step, on its own data and at its defaults. */
async function makePhoto2animeStep(): Promise<{ step: () => void; optimizers: tf.Optimizer[] }> {
  const options = photo2animeRecipe.options;
  const session = await photo2animeRecipe.setup({ seed: 1, batchSize: photo2animeRecipe.defaults.batchSize, options });
  // Steps from initSteps on are the full CycleGAN step (both generators and discriminators).
  let index = options.initSteps;
  const step = () => {
    session.trainStep(index, seededRandom(stepSeed(1, index)));
    index += 1;
  };
  return { step, optimizers: Object.values(session.optimizers) };
}

/**
 * Runs `warmup` then `timed` steps with the profiler attached; returns the wall times and the
 * profile of the timed steps.
 */
function timeSteps(
  { step, optimizers }: { step: () => void; optimizers: tf.Optimizer[] },
  profiler: StepProfiler,
  warmup: number,
  timed: number,
): { times: number[]; cpuMsPerStep: number; systemMsPerStep: number } {
  profiler.watchOptimizers(optimizers);
  for (let i = 0; i < warmup; i += 1) step();
  profiler.reset();
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < timed; i += 1) {
    const start = performance.now();
    step();
    times.push(performance.now() - start);
  }
  const cpuUsed = process.cpuUsage(cpuBefore);
  return { times, cpuMsPerStep: (cpuUsed.user + cpuUsed.system) / 1000 / timed, systemMsPerStep: cpuUsed.system / 1000 / timed };
}

/** Conv FLOPs per step by kind, from the profiler's sums over `steps` steps. */
function perStepFlops(flops: Record<ConvKind, number>, steps: number): Record<ConvKind, number> & { total: number } {
  const forward = flops.forward / steps;
  const inputGradient = flops['input gradient'] / steps;
  const filterGradient = flops['filter gradient'] / steps;
  return { forward, 'input gradient': inputGradient, 'filter gradient': filterGradient, total: forward + inputGradient + filterGradient };
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
  console.log(
    `glibc malloc tunables: ${process.env.GLIBC_TUNABLES || 'none (npm run bench:train sets them; see docs/training-backend.md)'}`,
  );

  const profiler = new StepProfiler();
  profiler.attach();
  const bench = timeSteps(makeStep(), profiler, WARMUP_STEPS, TIMED_STEPS);
  const perStep = perStepFlops(profiler.convFlops, TIMED_STEPS);
  const convFlops = perStep.total;
  const stepMs = percentile(bench.times, 0.5);
  const benchTable = profiler.table(sum(bench.times), TIMED_STEPS);
  const benchConvLayers = profiler.convLayerTable(TIMED_STEPS);
  console.log(
    `conv FLOPs per step: ${fmt(convFlops / 1e9, 2)} G (forward ${fmt(perStep.forward / 1e9, 2)}, input gradients ${fmt(perStep['input gradient'] / 1e9, 2)}, filter gradients ${fmt(perStep['filter gradient'] / 1e9, 2)})`,
  );
  console.log(`wasm-ort step: median ${fmt(stepMs, 0)} ms, best ${fmt(Math.min(...bench.times), 0)} ms over ${TIMED_STEPS} steps`);
  // CPU time is what the step itself consumed, whatever else the machine runs. Nothing here waits
  // or spins, so an idle machine's wall time is at most this: conv FLOPs / CPU time is a lower
  // bound for the effective figure there.
  console.log(
    `CPU time per step: ${fmt(bench.cpuMsPerStep, 0)} ms (all threads, ${fmt(bench.systemMsPerStep, 0)} ms of it system time: page faults, thread wake-ups) → ${fmt(gflops(convFlops, bench.cpuMsPerStep))} GFLOP per CPU-second, a lower bound for the effective figure on an idle machine`,
  );
  console.log(`\nwhere the bench step's wall time goes (${TIMED_STEPS} steps):\n\n${benchTable}\n`);
  console.log(`its conv time by layer:\n\n${benchConvLayers}\n`);

  const recipe = timeSteps(await makePhoto2animeStep(), profiler, RECIPE_WARMUP_STEPS, RECIPE_TIMED_STEPS);
  const recipeMs = percentile(recipe.times, 0.5);
  const recipeFlops = perStepFlops(profiler.convFlops, RECIPE_TIMED_STEPS).total;
  console.log(
    `photo2anime recipe step (both directions, its nets and losses, ${photo2animeRecipe.options.cropSize}² crops): median ${fmt(recipeMs, 0)} ms, best ${fmt(Math.min(...recipe.times), 0)} ms over ${RECIPE_TIMED_STEPS} steps; ${fmt(recipeFlops / 1e9, 2)} G conv FLOPs → effective ${fmt(gflops(recipeFlops, recipeMs))} GFLOP/s`,
  );
  console.log(`\nwhere the photo2anime step's wall time goes:\n\n${profiler.table(sum(recipe.times), RECIPE_TIMED_STEPS)}\n`);
  profiler.detach();

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
  const wasmConvSeconds = extrapolatedConvSeconds(perStep, wasmRates, ['forward', 'input gradient']);
  const cpuConvSeconds = extrapolatedConvSeconds(perStep, cpuRates, ['forward', 'input gradient', 'filter gradient']);
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
