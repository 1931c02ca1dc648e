/**
 * The bias + activation tail of tfjs's fused kernels (FusedConv2D, _FusedMatMul) as ONNX nodes,
 * so a fused op stays one onnxruntime call.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { OnnxGraph } from '../export/onnx-graph.ts';

/** The activations tfjs's fused kernels accept (tfjs-core's `Activation`). */
export type FusedActivation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';

/** Names of the extra graph inputs a fused op feeds: its bias and PReLU weights. */
export const BIAS_INPUT = 'bias';
export const PRELU_INPUT = 'prelu_weights';

/**
 * Appends `activation(value + bias)` in the output layout. tfjs broadcasts bias and PReLU weights
 * against the output like numpy; ONNX Add and PRelu broadcast the same way.
 */
export function appendBiasAndActivation(
  graph: OnnxGraph,
  value: string,
  bias: TensorInfo | undefined,
  activation: FusedActivation,
  preluWeights: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): string {
  let out = value;
  if (bias) out = graph.op('Add', [out, graph.input(BIAS_INPUT, 'float', bias.shape)]);
  switch (activation) {
    case 'linear':
      return out;
    case 'relu':
      return graph.op('Relu', [out]);
    case 'relu6':
      return graph.op('Clip', [out, scalar(graph, 'clip_min', 0), scalar(graph, 'clip_max', 6)]);
    case 'elu':
      return graph.op('Elu', [out], { alpha: { float: 1 } });
    case 'sigmoid':
      return graph.op('Sigmoid', [out]);
    case 'leakyrelu':
      return graph.op('LeakyRelu', [out], { alpha: { float: leakyreluAlpha ?? 0.2 } });
    case 'prelu': {
      if (!preluWeights) throw new Error('prelu activation without preluActivationWeights');
      return graph.op('PRelu', [out, graph.input(PRELU_INPUT, 'float', preluWeights.shape)]);
    }
  }
}

/** A key fragment that distinguishes fused-tail variants in the session cache. */
export function fusedTailKey(
  bias: TensorInfo | undefined,
  activation: FusedActivation,
  preluWeights: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): string {
  return `b${bias ? bias.shape.join('x') : '-'}|${activation}|p${preluWeights ? preluWeights.shape.join('x') : '-'}|a${leakyreluAlpha ?? ''}`;
}

function scalar(graph: OnnxGraph, prefix: string, value: number): string {
  return graph.initializer(graph.fresh(prefix), [value], []);
}
