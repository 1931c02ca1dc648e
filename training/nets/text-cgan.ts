/**
 * Text-conditioned DCGAN-style nets for 28×28 digits (GAN-CLS, Reed et al. 2016), with the text
 * encoder inside each net so it trains with the GAN and exports in the same ONNX graph.
 *
 * Text encoder: token ids int [N, maxTokens] (0 = padding) → a learned embedding per token, the
 * padding rows zeroed by a frozen 0/1 mask embedding, summed over tokens (a global average pool of
 * the masked rows, i.e. sum / maxTokens) and layer-normalised. Layer normalisation removes the
 * scale, so the code depends on which words are present, not on how many: a masked mean pooling
 * ("a bold 7" and "bold 7" agree) that is order-independent, which suits these captions whose
 * meaning is a bag of attribute words. A Dense + LeakyReLU layer then mixes the words.
 *
 * Built only from layers the exporter maps (Embedding, Multiply, GlobalAveragePooling1D,
 * LayerNormalization, Dense), so the exported graph takes int64 tokens [N, maxTokens] directly.
 *
 * Generator: [noise | text code] → the label CGAN's trunk (digitGeneratorTrunk in
 * training/nets/cgan.ts): dense 7×7×2w → two 2× upsamplings → 28×28×1 tanh. Discriminator: its own
 * text encoder; the code becomes a 28×28 map stacked on the image, and a projection term ⟨W t, φ(x)⟩
 * (Miyato & Koyama 2018) joins the image features φ(x) and the text, so "does this image match this
 * text" is part of the score.
 */
import * as tf from '@tensorflow/tfjs';
import { digitGeneratorTrunk, IMAGE_SIDE, projectionDiscriminatorScore, seededNormals } from './cgan.ts';
import type { Upsampling } from './cyclegan.ts';

export interface TextCganConfig {
  noiseDim: number;
  /** Vocabulary size without padding: ids run 1 … vocabularySize, 0 pads. */
  vocabularySize: number;
  maxTokens: number;
  /** Width of the word embeddings and of the text code. */
  textDim: number;
  generatorWidth: number;
  discriminatorWidth: number;
  minibatchStddev: boolean;
  /** How the generator doubles 7×7 → 14×14 → 28×28 (see digitGeneratorTrunk in cgan.ts). */
  upsampling: Upsampling;
  seed: number;
}

/** tokens → text code [N, textDim]; `prefix` keeps the two nets' layer names apart. */
function textEncoder(
  tokens: tf.SymbolicTensor,
  config: TextCganConfig,
  prefix: string,
  normal: ReturnType<typeof seededNormals>,
): tf.SymbolicTensor {
  const inputDim = config.vocabularySize + 1;
  const embedded = tf.layers
    .embedding({ inputDim, outputDim: config.textDim, embeddingsInitializer: normal(1), name: `${prefix}_word_embedding` })
    .apply(tokens) as tf.SymbolicTensor;
  // Frozen: zero for the padding id, one for every word id, so padding rows multiply away.
  const maskLayer = tf.layers.embedding({
    inputDim,
    outputDim: config.textDim,
    embeddingsInitializer: 'ones',
    trainable: false,
    name: `${prefix}_padding_mask`,
  });
  const mask = maskLayer.apply(tokens) as tf.SymbolicTensor;
  const maskTable = tf.tidy(() => tf.concat([tf.zeros([1, config.textDim]), tf.ones([inputDim - 1, config.textDim])]));
  maskLayer.setWeights([maskTable]);
  maskTable.dispose();
  const words = tf.layers.multiply({ name: `${prefix}_masked_words` }).apply([embedded, mask]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling1d({ name: `${prefix}_word_pool` }).apply(words) as tf.SymbolicTensor;
  const normalised = tf.layers.layerNormalization({ name: `${prefix}_text_norm` }).apply(pooled) as tf.SymbolicTensor;
  const mixed = tf.layers
    .dense({ units: config.textDim, kernelInitializer: normal(0.2), name: `${prefix}_text_dense` })
    .apply(normalised) as tf.SymbolicTensor;
  return tf.layers.leakyReLU({ alpha: 0.2, name: `${prefix}_text_code` }).apply(mixed) as tf.SymbolicTensor;
}

const tokensInput = (config: TextCganConfig) => tf.input({ shape: [config.maxTokens], dtype: 'int32', name: 'text' });

/** Generator: (noise [N, noiseDim], text int [N, maxTokens]) → image [N, 28, 28, 1] in [-1, 1]. */
export function buildTextGenerator(config: TextCganConfig): tf.LayersModel {
  const normal = seededNormals(config.seed);
  const noise = tf.input({ shape: [config.noiseDim], name: 'noise' });
  const tokens = tokensInput(config);
  const code = textEncoder(tokens, config, 'g', normal);
  const condition = tf.layers.concatenate({ name: 'g_condition' }).apply([noise, code]) as tf.SymbolicTensor;
  const image = digitGeneratorTrunk(condition, config, normal);
  return tf.model({ inputs: [noise, tokens], outputs: image, name: 'text_generator' });
}

/** Discriminator: (image [N, 28, 28, 1], text int [N, maxTokens]) → match-and-realness logit [N, 1]. */
export function buildTextDiscriminator(config: TextCganConfig): tf.LayersModel {
  const normal = seededNormals(config.seed ^ 0x5f3759df);
  const image = tf.input({ shape: [IMAGE_SIDE, IMAGE_SIDE, 1], name: 'image' });
  const tokens = tokensInput(config);
  const code = textEncoder(tokens, config, 'd', normal);
  const textMap = tf.layers
    .reshape({ targetShape: [IMAGE_SIDE, IMAGE_SIDE, 1], name: 'd_text_map' })
    .apply(
      tf.layers.dense({ units: IMAGE_SIDE * IMAGE_SIDE, kernelInitializer: normal(0.2), name: 'd_text_to_map' }).apply(code),
    ) as tf.SymbolicTensor;
  const conditioned = tf.layers.concatenate({ axis: -1, name: 'd_condition' }).apply([image, textMap]) as tf.SymbolicTensor;
  // Projection: c = W t, the text code mapped to the feature size.
  const logit = projectionDiscriminatorScore(
    conditioned,
    config,
    normal,
    (featureDim) =>
      tf.layers
        .dense({ units: featureDim, useBias: false, kernelInitializer: normal(), name: 'd_projection' })
        .apply(code) as tf.SymbolicTensor,
  );
  return tf.model({ inputs: [image, tokens], outputs: logit, name: 'text_discriminator' });
}
