/**
 * Merge layers: Concatenate and the elementwise Add, Subtract, Multiply, Average, Maximum,
 * Minimum. Inputs are brought to one layout first (NCHW when the conv chain already is).
 */
import { onnxAxis, UnsupportedLayerError } from '../context.ts';
import type { LayerMapper } from './types.ts';

export const concatenate: LayerMapper = (layer, inputs, ctx, config) => {
  const { names, channelsFirst } = ctx.unify(inputs);
  const rank = inputs[0]!.rank;
  if (inputs.some((v) => v.rank !== rank)) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'inputs of different ranks');
  const axis = onnxAxis((config.axis as number | undefined) ?? -1, { rank, channelsFirst });
  return { name: ctx.graph.op('Concat', names, { axis }), rank, channelsFirst, dtype: inputs[0]!.dtype };
};

/**
 * An elementwise merge: a variadic ONNX op, or a chain of binary ones. Add is a binary chain
 * rather than Sum because onnxruntime's fusions (e.g. Conv + Add + activation) look for Add.
 */
function elementwise(variadicOp: 'Mean' | 'Max' | 'Min' | null, binaryOp?: 'Add' | 'Sub' | 'Mul'): LayerMapper {
  return (layer, inputs, ctx) => {
    const { names, channelsFirst } = ctx.unify(inputs);
    const rank = Math.max(...inputs.map((v) => v.rank));
    if (inputs.some((v) => v.rank !== rank)) throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'inputs of different ranks');
    let y: string;
    if (variadicOp) {
      y = ctx.graph.op(variadicOp, names);
    } else {
      y = names[0]!;
      for (const next of names.slice(1)) y = ctx.graph.op(binaryOp!, [y, next]);
    }
    return { name: y, rank, channelsFirst, dtype: 'float' };
  };
}

export const add = elementwise(null, 'Add');
export const average = elementwise('Mean');
export const maximum = elementwise('Max');
export const minimum = elementwise('Min');
export const multiply = elementwise(null, 'Mul');
export const subtract = elementwise(null, 'Sub');
