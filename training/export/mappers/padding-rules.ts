/**
 * TensorFlow's 'same' / 'valid' padding as ONNX Conv/Pool attributes, for any number of spatial
 * dimensions.
 *
 * TF 'same' pads a total of max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0), floor(total / 2)
 * before and the rest after. With stride 1 the total is (k - 1) * d for any input size, so explicit
 * pads are exact. With stride > 1 it depends on the input size, which may be dynamic, so the node
 * uses auto_pad SAME_UPPER, ONNX's name for this very rule (extra pad at the end). TF does not allow
 * dilation together with stride > 1.
 */
import type * as tf from '@tensorflow/tfjs';
import { UnsupportedLayerError } from '../context.ts';

export type PaddingAttrs = { pads: number[] } | { auto_pad: string };

export function tfPadding(
  layer: tf.layers.Layer,
  padding: unknown,
  kernel: number[],
  strides: number[],
  dilations: number[],
): PaddingAttrs {
  if (padding === 'valid') return { pads: kernel.map(() => 0).concat(kernel.map(() => 0)) };
  if (padding !== 'same') throw new UnsupportedLayerError(layer.name, layer.getClassName(), `padding "${String(padding)}"`);
  if (strides.every((s) => s === 1)) {
    const totals = kernel.map((k, i) => (k - 1) * dilations[i]!);
    return { pads: [...totals.map((t) => Math.floor(t / 2)), ...totals.map((t) => t - Math.floor(t / 2))] };
  }
  if (dilations.some((d) => d !== 1))
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dilation together with stride > 1');
  return { auto_pad: 'SAME_UPPER' };
}

/** A kernel size, stride or dilation setting as one number per spatial dimension. */
export function perDimension(value: unknown, dims: number, name: string, layer: tf.layers.Layer): number[] {
  const list = typeof value === 'number' ? [value] : Array.isArray(value) ? (value as number[]) : null;
  if (list !== null && list.length === 1) return Array.from({ length: dims }, () => list[0]!);
  if (list !== null && list.length === dims) return list;
  throw new UnsupportedLayerError(layer.name, layer.getClassName(), `${name} ${JSON.stringify(value)}`);
}
