// Does onnxruntime-node's bundled WebGPU execution provider (Dawn over Vulkan) run the committed
// models on this machine's GPU, with the same results as the CPU provider, and how fast?
// Usage, from the repo root: node .gpu/webgpu-probe.mjs [runs=10]
// Prints one PROBE line per (model, batch) with the max |cpu − webgpu| and median run times.
// `node .gpu/webgpu-probe.mjs sizes` instead times photo2anime's first and second run at each of
// several image sizes on one WebGPU session: what a size never seen before costs.
import { readFileSync } from 'node:fs';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const RUNS = Number(process.argv[2] ?? 10);

/** A deterministic PRNG (mulberry32), so both providers see the same inputs. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function feedsFor(model, batch, side) {
  const m = JSON.parse(readFileSync(`models/${model}/model.json`, 'utf8'));
  const r = rng(42);
  const feeds = {};
  if (m.input) {
    const data = Float32Array.from({ length: batch * 3 * side * side }, () => r() * 2 - 1);
    feeds[m.input.name] = new ort.Tensor('float32', data, [batch, 3, side, side]);
  }
  if (m.noise) feeds[m.noise.name] = new ort.Tensor('float32', Float32Array.from({ length: batch * m.noise.dim }, () => r() * 2 - 1), [batch, m.noise.dim]);
  if (m.label) feeds[m.label.name] = new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % m.label.classes.length)), [batch]);
  if (m.text) {
    const tokens = BigInt64Array.from({ length: batch * m.text.maxTokens }, (_, i) => (i % m.text.maxTokens < 3 ? BigInt(1 + ((i * 7) % 20)) : 0n));
    feeds[m.text.name] = new ort.Tensor('int64', tokens, [batch, m.text.maxTokens]);
  }
  return { feeds, output: m.output.name };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeRuns(session, feeds, output) {
  let out = await session.run(feeds); // warm-up (and shader compilation on WebGPU)
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    out = await session.run(feeds);
    times.push(performance.now() - t);
  }
  return { data: out[output].data, ms: median(times) };
}

async function probe(model, batch, side) {
  const { feeds, output } = feedsFor(model, batch, side);
  const path = `models/${model}/model.onnx`;
  let t = performance.now();
  const cpu = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 4 });
  const cpuCreate = performance.now() - t;
  t = performance.now();
  const gpu = await ort.InferenceSession.create(path, { executionProviders: ['webgpu'] });
  const gpuCreate = performance.now() - t;
  const c = await timeRuns(cpu, feeds, output);
  const g = await timeRuns(gpu, feeds, output);
  let maxDiff = 0;
  for (let i = 0; i < c.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(c.data[i] - g.data[i]));
  const sameLength = c.data.length === g.data.length;
  console.log(
    `PROBE ${model} batch=${batch}${side ? ` side=${side}` : ''} max|cpu-webgpu|=${maxDiff.toExponential(2)} sameLength=${sameLength} ` +
      `cpu(4 threads)=${c.ms.toFixed(2)}ms webgpu=${g.ms.toFixed(2)}ms speedup=${(c.ms / g.ms).toFixed(2)}x create cpu=${cpuCreate.toFixed(0)}ms webgpu=${gpuCreate.toFixed(0)}ms`,
  );
  await cpu.release();
  await gpu.release();
}

async function sizes() {
  const session = await ort.InferenceSession.create('models/photo2anime/model.onnx', { executionProviders: ['webgpu'] });
  for (const [w, h] of [[512, 512], [256, 256], [640, 480], [480, 640], [500, 376], [1024, 768], [512, 512], [640, 480]]) {
    const r = rng(w * h);
    const feed = new ort.Tensor('float32', Float32Array.from({ length: 3 * w * h }, () => r() * 2 - 1), [1, 3, h, w]);
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await session.run({ image: feed });
      times.push(performance.now() - t);
    }
    console.log(`SIZE ${w}x${h}: runs ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
  }
}

if (isMainThread && process.argv[2] === 'sizes') {
  await sizes();
} else if (isMainThread) {
  console.log('backends', JSON.stringify(ort.listSupportedBackends?.()));
  const cases = [['digits', 1], ['digits', 32], ['digits-text', 32], ['photo2anime', 1, 512], ['photo2anime', 1, 1024]];
  for (const [model, batch, side] of cases) {
    try {
      await probe(model, batch, side);
    } catch (error) {
      console.log(`PROBE ${model} batch=${batch} FAILED: ${String(error.message).slice(0, 600)}`);
    }
  }
  // Two worker threads, each with its own WebGPU session, running at once: the server's shape.
  const t = performance.now();
  const results = await Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve) => {
          const worker = new Worker(new URL(import.meta.url));
          worker.once('message', resolve);
          worker.once('error', (error) => resolve(`error: ${error.message}`));
        }),
    ),
  );
  console.log(`WORKERS ${JSON.stringify(results)} in ${(performance.now() - t).toFixed(0)} ms`);
} else {
  try {
    const { feeds, output } = feedsFor('digits', 8, 0);
    const session = await ort.InferenceSession.create('models/digits/model.onnx', { executionProviders: ['webgpu'] });
    const r = await timeRuns(session, feeds, output);
    parentPort.postMessage(`ok ${r.data.length} values, median ${r.ms.toFixed(2)} ms`);
  } catch (error) {
    parentPort.postMessage(`failed: ${error.message.slice(0, 300)}`);
  }
}
