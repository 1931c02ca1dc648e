/**
 * Trains the project's digit classifier on the MNIST training split and writes the eval artifact:
 * training/eval/classifier/classifier.onnx plus classifier.json (held-out accuracy, steps, seeds,
 * backend, date). Everything is seeded (split, weight init, dropout, batch order, shifts), so a rerun
 * on the same backend reproduces it.
 *
 *   npx tsx training/eval/train-classifier.ts [--epochs 16] [--batch 64] [--seed 7] [--backend wasm-ort] [--out dir]
 *
 * Augmentation: random whole-pixel shifts of up to `maxShift` pixels, since generated digits are
 * not always as well centred as MNIST's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { adam } from '../backend/fused-adam.ts';
import { type BackendPreference, isBackendPreference, selectBackend } from '../backend/select.ts';
import { DEFAULT_SPLIT_SEED, type DigitSet, MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE, splitMnist, subsetOf } from '../data/mnist.ts';
import { seededRandom, shuffleInPlace } from '../data/random.ts';
import { CLASSIFIER_DIR, CLASSIFIER_INFO_FILE, CLASSIFIER_ONNX_FILE, type ClassifierInfo, DigitClassifier } from './classifier.ts';
import { FEATURE_DIM, buildClassifierNet, classifierToOnnx } from './classifier-net.ts';
import { accuracy, perClassAccuracy } from './metrics.ts';

export interface TrainClassifierOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  maxShift?: number;
  splitSeed?: number;
  backend?: BackendPreference;
  /** Train on a seeded random `limit` of the training digits (tests). */
  limit?: number;
  log?: (line: string) => void;
}

export interface TrainedClassifier {
  onnx: Uint8Array;
  info: ClassifierInfo;
}

/** Copies `source` into `target` moved by (dx, dy) pixels, filling the uncovered edge with black. */
export function shiftImage(source: Float32Array, target: Float32Array, dx: number, dy: number): void {
  target.fill(-1);
  for (let y = Math.max(0, dy); y < Math.min(MNIST_SIDE, MNIST_SIDE + dy); y++) {
    const row = source.subarray((y - dy) * MNIST_SIDE, (y - dy + 1) * MNIST_SIDE);
    for (let x = Math.max(0, dx); x < Math.min(MNIST_SIDE, MNIST_SIDE + dx); x++) target[y * MNIST_SIDE + x] = row[x - dx]!;
  }
}

/** One augmented batch as tensors: images [n, 28, 28, 1] and one-hot labels [n, 10]. */
function makeBatch(set: DigitSet, indices: number[], maxShift: number, random: () => number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const images = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Int32Array(indices.length);
  const shift = () => Math.floor(random() * (2 * maxShift + 1)) - maxShift;
  indices.forEach((source, i) => {
    const image = set.images.subarray(source * MNIST_PIXELS, (source + 1) * MNIST_PIXELS);
    shiftImage(image, images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), shift(), shift());
    labels[i] = set.labels[source]!;
  });
  return tf.tidy(() => ({
    xs: tf.tensor4d(images, [indices.length, MNIST_SIDE, MNIST_SIDE, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), MNIST_CLASSES) as tf.Tensor2D,
  }));
}

/** Trains the classifier and exports it; the reported accuracy is the ONNX model's, as evals use it. */
export async function trainClassifier(options: TrainClassifierOptions = {}): Promise<TrainedClassifier> {
  const epochs = options.epochs ?? 16;
  const batchSize = options.batchSize ?? 64;
  const learningRate = options.learningRate ?? 1e-3;
  const seed = options.seed ?? 7;
  const maxShift = options.maxShift ?? 2;
  const splitSeed = options.splitSeed ?? DEFAULT_SPLIT_SEED;
  const log = options.log ?? ((line: string) => console.log(line));
  const backend = await selectBackend(options.backend ?? 'wasm-ort', { log });

  const split = splitMnist({ seed: splitSeed });
  const random = seededRandom(seed);
  const train =
    options.limit === undefined
      ? split.train
      : subsetOf(
          split.train,
          shuffleInPlace(
            Array.from({ length: split.train.count }, (_, i) => i),
            random,
          ).slice(0, options.limit),
        );
  const model = buildClassifierNet(seed);
  const optimizer = adam(learningRate);
  const started = performance.now();
  let steps = 0;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    // Cut the step size to a quarter for the last quarter of training: a cheap schedule that settles the weights.
    if (epoch === Math.floor((epochs * 3) / 4) + 1 && epochs > 1)
      (optimizer as unknown as { learningRate: number }).learningRate = learningRate / 4;
    const order = shuffleInPlace(
      Array.from({ length: train.count }, (_, i) => i),
      random,
    );
    let lossSum = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const { xs, ys } = makeBatch(train, order.slice(start, start + batchSize), maxShift, random);
      const loss = optimizer.minimize(() => {
        const [logits] = model.apply(xs, { training: true }) as tf.Tensor[];
        return tf.losses.softmaxCrossEntropy(ys, logits!) as tf.Scalar;
      }, true);
      lossSum += (await loss!.data())[0]!;
      tf.dispose([xs, ys, loss!]);
      steps++;
    }
    log(
      `[classifier] epoch ${epoch}/${epochs} loss ${(lossSum / Math.ceil(order.length / batchSize)).toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }

  const onnx = classifierToOnnx(model);
  model.dispose();
  optimizer.dispose();
  const classifier = await DigitClassifier.fromBytes(onnx);
  const { predictions } = await classifier.classify(split.heldOut.images);
  await classifier.release();
  const info: ClassifierInfo = {
    heldOutAccuracy: accuracy(predictions, split.heldOut.labels),
    heldOutPerClassAccuracy: perClassAccuracy(predictions, split.heldOut.labels, MNIST_CLASSES),
    heldOutCount: split.heldOut.count,
    trainCount: train.count,
    splitSeed,
    seed,
    epochs,
    steps,
    batchSize,
    learningRate,
    maxShift,
    backend,
    trainSeconds: Math.round((performance.now() - started) / 1000),
    featureDim: FEATURE_DIM,
    date: new Date().toISOString(),
  };
  log(`[classifier] held-out accuracy ${(info.heldOutAccuracy * 100).toFixed(2)} % on ${info.heldOutCount} digits`);
  return { onnx, info };
}

/** Writes classifier.onnx and classifier.json into `dir`. */
export async function saveClassifier({ onnx, info }: TrainedClassifier, dir = CLASSIFIER_DIR): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CLASSIFIER_ONNX_FILE), onnx);
  await writeFile(join(dir, CLASSIFIER_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const number = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got '${value}'`);
    return parsed;
  };
  if (values.backend !== undefined && !isBackendPreference(values.backend)) throw new Error(`unknown --backend '${values.backend}'`);
  const trained = await trainClassifier({
    epochs: number(values.epochs, 'epochs'),
    batchSize: number(values.batch, 'batch'),
    seed: number(values.seed, 'seed'),
    backend: values.backend as BackendPreference | undefined,
  });
  await saveClassifier(trained, values.out ?? CLASSIFIER_DIR);
  console.log(`[classifier] wrote ${join(values.out ?? CLASSIFIER_DIR, CLASSIFIER_ONNX_FILE)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
