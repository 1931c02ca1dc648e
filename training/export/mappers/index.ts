/** The layer classes the exporter knows, by tfjs class name. Anything else fails the export. */
import { activation, elu, leakyRelu, relu, softmax } from './activations.ts';
import { conv2d, conv2dTranspose } from './convolution.ts';
import { dense, embedding, flatten, identity, reshape } from './core.ts';
import { add, average, concatenate, maximum, minimum, multiply, subtract } from './merge.ts';
import { batchNormalization, instanceNormalization } from './normalization.ts';
import { globalAveragePooling1d, globalAveragePooling2d, reflectionPadding2d, upSampling2d, zeroPadding2d } from './spatial.ts';
import type { LayerMapper } from './types.ts';

export const LAYER_MAPPERS: Readonly<Record<string, LayerMapper>> = {
  Dense: dense,
  Embedding: embedding,
  Reshape: reshape,
  Flatten: flatten,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  Softmax: softmax,
  Conv2D: conv2d,
  Conv2DTranspose: conv2dTranspose,
  BatchNormalization: batchNormalization,
  InstanceNormalization: instanceNormalization,
  ZeroPadding2D: zeroPadding2d,
  ReflectionPadding2D: reflectionPadding2d,
  UpSampling2D: upSampling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  GlobalAveragePooling1D: globalAveragePooling1d,
  Concatenate: concatenate,
  Add: add,
  Subtract: subtract,
  Multiply: multiply,
  Average: average,
  Maximum: maximum,
  Minimum: minimum,
};
