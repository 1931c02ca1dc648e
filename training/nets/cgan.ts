/**
 * Label-conditioned DCGAN-style nets for 28×28 single-channel images (MNIST digits).
 *
 * Conditioning is CGAN-style (Mirza & Osindero 2014): both nets see the label through a learned
 * embedding. The generator concatenates it with the noise; the discriminator turns it into a
 * 28×28 map stacked on the image as a second channel, so it judges (image, label) pairs and a
 * well-drawn digit with the wrong label counts as fake.
 *
 * Layer choices follow DCGAN (Radford et al. 2016): strided (transposed) convolutions instead of
 * pooling, BatchNorm and ReLU in the generator, LeakyReLU(0.2) in the discriminator, tanh output
 * in [-1, 1], N(0, 0.02) initial weights. The discriminator has no BatchNorm: it sees real and fake
 * batches separately, and batch statistics would leak which batch it is looking at. It ends in a
 * logit (no sigmoid); the losses work on logits.
 *
 * Option `upsampling: 'resize'` (both digit generators share the trunk, digitGeneratorTrunk) swaps
 * the generator's transposed convs for nearest 2× + 3×3 conv (Odena et al. 2016, "Deconvolution and
 * checkerboard artifacts"). A 4×4 stride-2 transposed conv computes each output pixel's parity
 * class with its own quarter of the kernel, and nothing ties the four together, so pixel-periodic
 * speckle stays wherever training has not balanced them; after a resize every pixel shares one kernel.
 *
 * Label embeddings start at N(0, 1), the scale of a one-hot code and of the noise: at DCGAN's
 * 0.02 the label is a whisper next to the noise, and Adam (≈ lr per step) needs thousands of steps
 * to make it heard, which showed as samples ignoring their class for the first epochs.
 *
 * The discriminator also has a projection term (Miyato & Koyama 2018): ⟨embed(y), φ(x)⟩ added to
 * its logit, the inner product of a class embedding with its image features. It makes "is this
 * image of class y" a first-class part of the score rather than something the convs must infer
 * from the extra input channel, and gives markedly stronger class adherence.
 *
 * Every initialiser is seeded from `seed`, so the same seed builds the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { Upsampling } from './cyclegan.ts';

export interface CganConfig {
  noiseDim: number;
  classes: number;
  /** Channels of the generator's last hidden layer; its first conv layer has twice as many. */
  generatorWidth: number;
  /** Channels of the discriminator's first conv layer; its second has twice as many. */
  discriminatorWidth: number;
  labelEmbeddingDim: number;
  /** Append the minibatch standard deviation feature map to the discriminator's last conv. */
  minibatchStddev: boolean;
  /** How the generator doubles 7×7 → 14×14 → 28×28 (see digitGeneratorTrunk). */
  upsampling: Upsampling;
  seed: number;
}

/**
 * Minibatch standard deviation (Karras et al. 2018, ProGAN): the mean over features of the
 * per-feature standard deviation across the batch, appended as one constant feature map. A batch
 * of near-identical fakes has a tell-tale small value, so the discriminator can punish a generator
 * that ignores its noise (mode collapse within a class). Discriminator-only, so never exported.
 */
export class MinibatchStddev extends tf.layers.Layer {
  static readonly className = 'MinibatchStddev';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), (shape.at(-1) as number) + 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const { variance } = tf.moments(x, 0);
      const spread = tf.mean(tf.sqrt(tf.add(variance, 1e-8)));
      const [batch, height, width] = x.shape as number[];
      return tf.concat([x, tf.mul(tf.ones([batch!, height!, width!, 1]), spread)], -1);
    });
  }
}
tf.serialization.registerClass(MinibatchStddev);

export const IMAGE_SIDE = 28;

/** Seeded N(0, stddev²) initialisers (DCGAN's 0.02 by default), one distinct seed per weight tensor. */
export function seededNormals(seed: number): (stddev?: number) => ReturnType<typeof tf.initializers.randomNormal> {
  let next = seed >>> 0;
  return (stddev = 0.02) => {
    next = (next + 0x9e3779b9) >>> 0;
    return tf.initializers.randomNormal({ mean: 0, stddev, seed: next });
  };
}

/**
 * Both digit discriminators' shared part: the conditioned image [N, 28, 28, 2] → conv 14×14×w →
 * conv 7×7×2w (→ minibatch stddev) → features φ(x), scored as dense(φ(x)) + Σ c ⊙ φ(x), the
 * projection term, with the sum done by a frozen all-ones Dense. `condition(featureDim)` builds c
 * [N, featureDim] from the label or the text; it is called after the trunk's layers are made, so
 * the seeded initialisers are handed out in the order both nets always had.
 */
export function projectionDiscriminatorScore(
  conditioned: tf.SymbolicTensor,
  config: Pick<CganConfig, 'discriminatorWidth' | 'minibatchStddev'>,
  normal: ReturnType<typeof seededNormals>,
  condition: (featureDim: number) => tf.SymbolicTensor,
): tf.SymbolicTensor {
  let x = tf.layers
    .conv2d({
      filters: config.discriminatorWidth,
      kernelSize: 4,
      strides: 2,
      padding: 'same',
      kernelInitializer: normal(),
      name: 'd_down1',
    })
    .apply(conditioned) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2, name: 'd_down1_lrelu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({
      filters: config.discriminatorWidth * 2,
      kernelSize: 4,
      strides: 2,
      padding: 'same',
      kernelInitializer: normal(),
      name: 'd_down2',
    })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.leakyReLU({ alpha: 0.2, name: 'd_down2_lrelu' }).apply(x) as tf.SymbolicTensor;
  if (config.minibatchStddev) x = new MinibatchStddev({ name: 'd_minibatch_stddev' }).apply(x) as tf.SymbolicTensor;
  const features = tf.layers.flatten({ name: 'd_flat' }).apply(x) as tf.SymbolicTensor;
  const featureDim = 7 * 7 * (config.discriminatorWidth * 2 + (config.minibatchStddev ? 1 : 0));
  const unconditional = tf.layers.dense({ units: 1, kernelInitializer: normal(), name: 'd_logit' }).apply(features) as tf.SymbolicTensor;
  const matched = tf.layers.multiply({ name: 'd_projection_product' }).apply([features, condition(featureDim)]) as tf.SymbolicTensor;
  const projection = tf.layers
    .dense({ units: 1, useBias: false, kernelInitializer: 'ones', trainable: false, name: 'd_projection_sum' })
    .apply(matched) as tf.SymbolicTensor;
  return tf.layers.add({ name: 'd_score' }).apply([unconditional, projection]) as tf.SymbolicTensor;
}

/** The two model inputs every conditional generator here takes. */
function conditionInputs(noiseDim: number): { noise: tf.SymbolicTensor; label: tf.SymbolicTensor } {
  return {
    noise: tf.input({ shape: [noiseDim], name: 'noise' }),
    label: tf.input({ shape: [1], dtype: 'int32', name: 'label' }),
  };
}

/**
 * Both digit generators' shared part: the condition vector [N, d] (noise and label or text code) →
 * dense 7×7×2w (BN, ReLU) → 2× → 14×14×w (BN, ReLU) → 2× → 28×28×1 tanh. `upsampling` picks how:
 * - 'transpose': 4×4 stride-2 transposed convs, the second one drawing the image;
 * - 'resize': nearest 2× then a 3×3 conv at each step, plus one 3×3 conv → ⌈w/2⌉ (BN, ReLU) at
 *   28×28 before the 3×3 image conv, so the image is drawn from features that were refined after
 *   the last resize rather than from its blocky copies.
 * Layer names are the same in both where the layers correspond (g_up1 is the first upsampling's
 * conv, g_image the last conv), and 'transpose' draws its initialisers in the order it always did.
 */
export function digitGeneratorTrunk(
  condition: tf.SymbolicTensor,
  config: Pick<CganConfig, 'generatorWidth' | 'upsampling'>,
  normal: ReturnType<typeof seededNormals>,
): tf.SymbolicTensor {
  const width = config.generatorWidth;
  const wide = width * 2;
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor) => layer.apply(x) as tf.SymbolicTensor;
  const normRelu = (x: tf.SymbolicTensor, name: string) =>
    apply(tf.layers.reLU({ name: `${name}_relu` }), apply(tf.layers.batchNormalization({ momentum: 0.9, name: `${name}_bn` }), x));
  // 'resize': nearest 2× then a 3×3 'same' conv, so every output pixel gets the same kernel.
  const resizeConv = (x: tf.SymbolicTensor, filters: number, name: string) =>
    apply(
      tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: normal(), name }),
      apply(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest', name: `${name}_resize` }), x),
    );

  let x = apply(tf.layers.dense({ units: 7 * 7 * wide, useBias: false, kernelInitializer: normal(), name: 'g_project' }), condition);
  x = normRelu(x, 'g_project');
  x = apply(tf.layers.reshape({ targetShape: [7, 7, wide], name: 'g_reshape' }), x);
  if (config.upsampling === 'resize') {
    x = normRelu(resizeConv(x, width, 'g_up1'), 'g_up1');
    x = normRelu(resizeConv(x, Math.ceil(width / 2), 'g_up2'), 'g_up2');
    return apply(
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: normal(), name: 'g_image' }),
      x,
    );
  }
  x = apply(
    tf.layers.conv2dTranspose({
      filters: width,
      kernelSize: 4,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: normal(),
      name: 'g_up1',
    }),
    x,
  );
  x = normRelu(x, 'g_up1');
  return apply(
    tf.layers.conv2dTranspose({
      filters: 1,
      kernelSize: 4,
      strides: 2,
      padding: 'same',
      activation: 'tanh',
      kernelInitializer: normal(),
      name: 'g_image',
    }),
    x,
  );
}

/**
 * Generator: (noise [N, noiseDim], label [N, 1] int) → image [N, 28, 28, 1] in [-1, 1]:
 * [noise | label embedding] → digitGeneratorTrunk.
 */
export function buildConditionalGenerator(config: CganConfig): tf.LayersModel {
  const normal = seededNormals(config.seed);
  const { noise, label } = conditionInputs(config.noiseDim);
  const embedded = tf.layers
    .embedding({
      inputDim: config.classes,
      outputDim: config.labelEmbeddingDim,
      embeddingsInitializer: normal(1),
      name: 'g_label_embedding',
    })
    .apply(label) as tf.SymbolicTensor;
  const labelVector = tf.layers.flatten({ name: 'g_label_flat' }).apply(embedded) as tf.SymbolicTensor;
  const condition = tf.layers.concatenate({ name: 'g_condition' }).apply([noise, labelVector]) as tf.SymbolicTensor;
  const image = digitGeneratorTrunk(condition, config, normal);
  return tf.model({ inputs: [noise, label], outputs: image, name: 'conditional_generator' });
}

/**
 * Discriminator: (image [N, 28, 28, 1], label [N, 1] int) → realness logit [N, 1].
 * [image | label map] → conv 14×14×w → conv 7×7×2w → φ(x); logit = dense(φ(x)) + ⟨embed(y), φ(x)⟩.
 */
export function buildConditionalDiscriminator(config: CganConfig): tf.LayersModel {
  const normal = seededNormals(config.seed ^ 0x5f3759df);
  const image = tf.input({ shape: [IMAGE_SIDE, IMAGE_SIDE, 1], name: 'image' });
  const label = tf.input({ shape: [1], dtype: 'int32', name: 'label' });
  const embedded = tf.layers
    .embedding({
      inputDim: config.classes,
      outputDim: IMAGE_SIDE * IMAGE_SIDE,
      embeddingsInitializer: normal(1),
      name: 'd_label_embedding',
    })
    .apply(label) as tf.SymbolicTensor;
  const labelMap = tf.layers
    .reshape({ targetShape: [IMAGE_SIDE, IMAGE_SIDE, 1], name: 'd_label_map' })
    .apply(embedded) as tf.SymbolicTensor;
  const conditioned = tf.layers.concatenate({ axis: -1, name: 'd_condition' }).apply([image, labelMap]) as tf.SymbolicTensor;
  // Projection: c is the class embedding of y.
  const logit = projectionDiscriminatorScore(
    conditioned,
    config,
    normal,
    (featureDim) =>
      tf.layers
        .flatten({ name: 'd_class_flat' })
        .apply(
          tf.layers
            .embedding({ inputDim: config.classes, outputDim: featureDim, embeddingsInitializer: normal(), name: 'd_projection_embedding' })
            .apply(label),
        ) as tf.SymbolicTensor,
  );
  return tf.model({ inputs: [image, label], outputs: logit, name: 'conditional_discriminator' });
}
