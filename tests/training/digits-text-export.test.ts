/**
 * The text generator of `digits-text` exports to ONNX with its text encoder in the same graph:
 * tfjs (cpu backend, the reference) and onnxruntime agree on noise + int64 tokens in both
 * upsamplings, `--upsampling resize` leaves the served contract as it is, and the encoder behaves as
 * documented (padding is masked; word order does not matter).
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { captionTokens, captionVocabulary } from '../../training/data/captions.ts';
import { buildTextDiscriminator, buildTextGenerator, type TextCganConfig } from '../../training/nets/text-cgan.ts';
import { digitsTextRecipe } from '../../training/recipes/digits-text.ts';
import {
  checkParity,
  DIGIT_GENERATOR_UPSAMPLING,
  randomInput,
  randomizeWeights,
  servedContract,
  upsamplingNodes,
  useCpuBackend,
} from './export-harness.ts';

const vocabulary = captionVocabulary();
const MAX_TOKENS = 12;
const config: TextCganConfig = {
  noiseDim: 16,
  vocabularySize: vocabulary.size,
  maxTokens: MAX_TOKENS,
  textDim: 8,
  generatorWidth: 8,
  discriminatorWidth: 8,
  minibatchStddev: true,
  upsampling: 'transpose',
  seed: 11,
};
const EXPORT_OPTIONS = { inputs: [{ name: 'noise' }, { name: 'text', dtype: 'int64' as const }], outputs: [{ name: 'image' }] };
const PROMPTS = ['a bold slanted 3', 'seven', 'draw me a thin upright 0 please', 'italic light 9'];

beforeAll(async () => {
  await useCpuBackend();
});

/** Runs the exported generator in onnxruntime on the captions' tokens and one noise batch. */
async function runExported(onnx: Uint8Array, captions: string[], noise: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  const tokens = BigInt64Array.from(captionTokens(captions, vocabulary, MAX_TOKENS), (v) => BigInt(v));
  const out = await session.run({
    noise: new ort.Tensor('float32', noise, [captions.length, config.noiseDim]),
    text: new ort.Tensor('int64', tokens, [captions.length, MAX_TOKENS]),
  });
  await session.release();
  return out.image!.data as Float32Array;
}

describe('digits-text generator export', () => {
  it.each(['transpose', 'resize'] as const)(
    'matches tfjs in onnxruntime with %s upsampling, taking noise [N, 16] and int64 tokens [N, 12]',
    async (upsampling) => {
      const generator = buildTextGenerator({ ...config, upsampling });
      // The builder's N(0, 0.02) weights give images of about 1e-4, where a 1e-4 tolerance says
      // nothing; random ones can kill every ReLU (a constant image), hence the spread check.
      randomizeWeights(generator, 12);
      const noise = randomInput([PROMPTS.length, config.noiseDim], 5);
      const tokens = tf.tensor2d(captionTokens(PROMPTS, vocabulary, MAX_TOKENS), [PROMPTS.length, MAX_TOKENS], 'int32');
      const drawn = generator.predict([noise, tokens]) as tf.Tensor;
      expect(Math.sqrt(tf.moments(drawn).variance.dataSync()[0]!)).toBeGreaterThan(0.1);
      const { maxAbsDiff, onnx, shapes } = await checkParity(generator, [noise, tokens], EXPORT_OPTIONS);
      expect(shapes).toEqual([[PROMPTS.length, 28, 28, 1]]);
      expect(maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(upsamplingNodes(onnx)).toEqual(DIGIT_GENERATOR_UPSAMPLING[upsampling]);
      // The prompts really condition the output: different prompts, same noise → different images.
      const sameNoise = tf.tile(tf.slice(noise, [0, 0], [1, -1]), [PROMPTS.length, 1]);
      const images = generator.predict([sameNoise, tokens]) as tf.Tensor;
      const first = tf.slice(images, [0, 0, 0, 0], [1, -1, -1, -1]);
      expect(tf.max(tf.abs(tf.sub(images, first))).dataSync()[0]).toBeGreaterThan(1e-4);
      tf.dispose([noise, tokens, drawn, sameNoise, images, first]);
      generator.dispose();
    },
  );

  it('serves the same contract with --upsampling resize (manifest, ONNX inputs and outputs) and refuses other values', async () => {
    const options = { ...digitsTextRecipe.options, generatorWidth: 4, discriminatorWidth: 4, subset: 64 };
    const transpose = await servedContract(digitsTextRecipe, options);
    const resize = await servedContract(digitsTextRecipe, { ...options, upsampling: 'resize' });
    expect(resize).toEqual(transpose);
    expect(resize.inputs).toEqual([
      { name: 'noise', dtype: 'float32', dims: ['N', 64] },
      { name: 'text', dtype: 'int64', dims: ['N', MAX_TOKENS] },
    ]);
    expect(resize.outputs).toEqual([{ name: 'image', dtype: 'float32', dims: ['N', 28, 28, 1], layout: 'NHWC' }]);
    await expect(servedContract(digitsTextRecipe, { ...options, upsampling: 'bilinear' })).rejects.toThrow(
      /--upsampling must be transpose or resize, got bilinear/,
    );
  });

  it('masks padding and ignores word order, in the exported graph too', async () => {
    const generator = buildTextGenerator(config);
    const { onnx } = await checkParity(
      generator,
      [randomInput([1, config.noiseDim], 1), tf.zeros([1, MAX_TOKENS], 'int32')],
      EXPORT_OPTIONS,
    );
    const noise = Float32Array.from({ length: 3 * config.noiseDim }, (_, i) => Math.sin(i % config.noiseDim));
    const images = await runExported(onnx, ['a bold slanted 3', '3 slanted bold a', 'bold 3 a slanted'], noise);
    const side = images.length / 3;
    for (let i = 0; i < side; i++) {
      expect(images[side + i]).toBeCloseTo(images[i]!, 5);
      expect(images[2 * side + i]).toBeCloseTo(images[i]!, 5);
    }
    // The padding mask: whatever the padding row's trained embedding, it contributes nothing.
    const embedding = generator.getLayer('g_word_embedding');
    const before = await runExported(onnx, ['bold 3'], noise.slice(0, config.noiseDim));
    const [table] = embedding.getWeights();
    const changed = tf.tidy(() => tf.concat([tf.fill([1, config.textDim], 7), tf.slice(table!, [1, 0], [-1, -1])]));
    embedding.setWeights([changed]);
    const { onnx: repadded } = await checkParity(
      generator,
      [randomInput([1, config.noiseDim], 1), tf.zeros([1, MAX_TOKENS], 'int32')],
      EXPORT_OPTIONS,
    );
    const after = await runExported(repadded, ['bold 3'], noise.slice(0, config.noiseDim));
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i]!)))).toBeLessThan(1e-5);
    changed.dispose();
    generator.dispose();
  });

  it('builds a discriminator that scores (image, tokens) pairs as one logit each', () => {
    const discriminator = buildTextDiscriminator(config);
    const tokens = tf.tensor2d(captionTokens(PROMPTS, vocabulary, MAX_TOKENS), [PROMPTS.length, MAX_TOKENS], 'int32');
    const images = randomInput([PROMPTS.length, 28, 28, 1], 3);
    const scores = discriminator.predict([images, tokens]) as tf.Tensor;
    expect(scores.shape).toEqual([PROMPTS.length, 1]);
    tf.dispose([tokens, images, scores]);
    discriminator.dispose();
  });
});
