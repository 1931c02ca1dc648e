/**
 * The project's digit classifier at eval time: the committed ONNX artifact in
 * training/eval/classifier/, run in onnxruntime. It scores generated digits (accuracy) and gives
 * their penultimate-layer features (diversity). Retrain it with
 * `npx tsx training/eval/train-classifier.ts` (see that file).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { MNIST_PIXELS, MNIST_SIDE } from '../data/mnist.ts';
import { argmaxRows } from './metrics.ts';
import { CLASSIFIER_IO, FEATURE_DIM } from './classifier-net.ts';

/** Where the committed classifier lives: classifier.onnx and classifier.json (provenance). */
export const CLASSIFIER_DIR = fileURLToPath(new URL('./classifier/', import.meta.url));
export const CLASSIFIER_ONNX_FILE = 'classifier.onnx';
export const CLASSIFIER_INFO_FILE = 'classifier.json';

/** Provenance written next to the weights by train-classifier.ts. */
export interface ClassifierInfo {
  heldOutAccuracy: number;
  heldOutPerClassAccuracy: number[];
  heldOutCount: number;
  trainCount: number;
  splitSeed: number;
  seed: number;
  epochs: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  maxShift: number;
  backend: string;
  trainSeconds: number;
  featureDim: number;
  date: string;
}

export interface Classification {
  count: number;
  /** Predicted digit per image. */
  predictions: Int32Array;
  /** [count, 10] row-major. */
  logits: Float32Array;
  /** [count, FEATURE_DIM] row-major: the penultimate ReLU layer. */
  features: Float32Array;
}

const BATCH = 500;

export class DigitClassifier {
  readonly featureDim = FEATURE_DIM;

  private constructor(private readonly session: InferenceSession) {}

  /** Loads classifier.onnx from `dir` (the committed artifact by default). */
  static async load(dir = CLASSIFIER_DIR): Promise<DigitClassifier> {
    return DigitClassifier.fromBytes(await readFile(join(dir, CLASSIFIER_ONNX_FILE)));
  }

  static async fromBytes(onnx: Uint8Array): Promise<DigitClassifier> {
    return new DigitClassifier(await InferenceSession.create(onnx, { graphOptimizationLevel: 'all' }));
  }

  /** Classifies `images`: packed 28×28 greyscale digits in [-1, 1], white strokes on black. */
  async classify(images: Float32Array): Promise<Classification> {
    const count = images.length / MNIST_PIXELS;
    if (!Number.isInteger(count)) throw new Error(`${images.length} values are not whole 28×28 images`);
    const logits = new Float32Array(count * 10);
    const features = new Float32Array(count * FEATURE_DIM);
    for (let start = 0; start < count; start += BATCH) {
      const size = Math.min(BATCH, count - start);
      const batch = images.subarray(start * MNIST_PIXELS, (start + size) * MNIST_PIXELS);
      const input = new Tensor('float32', batch, [size, 1, MNIST_SIDE, MNIST_SIDE]);
      const result = await this.session.run({ [CLASSIFIER_IO.input]: input });
      logits.set(result[CLASSIFIER_IO.logits]!.data as Float32Array, start * 10);
      features.set(result[CLASSIFIER_IO.features]!.data as Float32Array, start * FEATURE_DIM);
    }
    return { count, predictions: argmaxRows(logits, 10), logits, features };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The provenance of the committed classifier. */
export async function readClassifierInfo(dir = CLASSIFIER_DIR): Promise<ClassifierInfo> {
  return JSON.parse(await readFile(join(dir, CLASSIFIER_INFO_FILE), 'utf8')) as ClassifierInfo;
}
