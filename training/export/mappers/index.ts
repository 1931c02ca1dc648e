/** The layer classes the exporter knows, by tfjs class name. Anything else fails the export. */
import { activation, elu, leakyRelu, prelu, relu, softmax } from './activations.ts';
import { boxBlur } from './box-blur.ts';
import { localColourTransform } from './colour-transform.ts';
import { conv1d, conv2d, conv2dTranspose, depthwiseConv2d, separableConv2d } from './convolution.ts';
import { dense, embedding, flatten, identity, reshape } from './core.ts';
import { guidedFilter } from './guided-filter.ts';
import { labToRgb, rgbToLightness } from './lab.ts';
import { add, average, concatenate, maximum, minimum, multiply, subtract } from './merge.ts';
import { batchNormalization, instanceNormalization, layerNormalization } from './normalization.ts';
import { averagePooling2d, globalAveragePooling1d, globalAveragePooling2d, globalMaxPooling2d, maxPooling2d } from './pooling.ts';
import { reflectionPadding2d, upSampling2d, zeroPadding2d } from './spatial.ts';
import { textureFlatten } from './texture-flatten.ts';
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
  PReLU: prelu,
  Softmax: softmax,
  Conv1D: conv1d,
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
  ZeroPadding2D: zeroPadding2d,
  ReflectionPadding2D: reflectionPadding2d,
  UpSampling2D: upSampling2d,
  MaxPooling2D: maxPooling2d,
  AveragePooling2D: averagePooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  GlobalMaxPooling2D: globalMaxPooling2d,
  GlobalAveragePooling1D: globalAveragePooling1d,
  Concatenate: concatenate,
  Add: add,
  Subtract: subtract,
  Multiply: multiply,
  Average: average,
  Maximum: maximum,
  Minimum: minimum,
  GuidedFilter: guidedFilter,
  BoxBlur: boxBlur,
  LocalColourTransform: localColourTransform,
  TextureFlatten: textureFlatten,
  RgbToLightness: rgbToLightness,
  LabToRgb: labToRgb,
};
