/**
 * Core layers: Dense, Embedding, Reshape, Flatten, and the layers that are the identity at
 * inference (Dropout and the noise layers). All work on the tfjs (channels-last) layout, so
 * the element order matches tfjs exactly.
 */
import { layerWeight, requiredWeight, UnsupportedLayerError } from '../context.ts';
import { ElemType } from '../onnx-graph.ts';
import { applyActivation } from './activations.ts';
import { type LayerMapper, onlyInput } from './types.ts';

/** y = activation(x W + b) over the last axis. Rank 2 becomes one Gemm, higher ranks MatMul + Add. */
export const dense: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  const x = ctx.tfjsLayout(input);
  const kernel = ctx.tensor(`${layer.name}/kernel`, requiredWeight(layer, 'kernel'));
  const biasWeight = config.useBias === false ? null : layerWeight(layer, 'bias');
  const bias = biasWeight ? ctx.tensor(`${layer.name}/bias`, biasWeight) : null;
  let y: string;
  if (input.rank === 2) {
    y = ctx.graph.op('Gemm', bias ? [x, kernel, bias] : [x, kernel]);
  } else {
    y = ctx.graph.op('MatMul', [x, kernel]);
    if (bias) y = ctx.graph.op('Add', [y, bias]);
  }
  return applyActivation(ctx, { name: y, rank: input.rank, channelsFirst: false, dtype: 'float' }, config.activation, layer);
};

/** A table lookup: Gather on int64 indices (float indices are truncated as tfjs does). */
export const embedding: LayerMapper = (layer, inputs, ctx) => {
  const input = onlyInput(inputs);
  const indices = input.dtype === 'int64' ? ctx.tfjsLayout(input) : ctx.graph.op('Cast', [ctx.tfjsLayout(input)], { to: ElemType.int64 });
  const table = ctx.tensor(`${layer.name}/embeddings`, requiredWeight(layer, 'embeddings'));
  return { name: ctx.graph.op('Gather', [table, indices], { axis: 0 }), rank: input.rank + 1, channelsFirst: false, dtype: 'float' };
};

/** Keeps the batch dimension (0 copies it in ONNX Reshape) and applies tfjs's target shape. */
export const reshape: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  // tfjs serializes the inferred dimension (-1) as null.
  const target = (config.targetShape as (number | null)[]).map((d) => d ?? -1);
  if (target.filter((d) => d === -1).length > 1 || target.some((d) => d === 0 || d < -1)) {
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), `target shape ${JSON.stringify(target)}`);
  }
  const shape = ctx.graph.int64s(`${layer.name}/shape`, [0, ...target]);
  return {
    name: ctx.graph.op('Reshape', [ctx.tfjsLayout(input), shape]),
    rank: target.length + 1,
    channelsFirst: false,
    dtype: input.dtype,
  };
};

/** Flattens everything after the batch axis, in channels-last order as tfjs does. */
export const flatten: LayerMapper = (layer, inputs, ctx, config) => {
  const input = onlyInput(inputs);
  if (config.dataFormat === 'channelsFirst') throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'dataFormat channelsFirst');
  return { name: ctx.graph.op('Flatten', [ctx.tfjsLayout(input)], { axis: 1 }), rank: 2, channelsFirst: false, dtype: input.dtype };
};

/** Dropout and noise layers only act in training; at inference they pass the input through. */
export const identity: LayerMapper = (_layer, inputs) => onlyInput(inputs);
