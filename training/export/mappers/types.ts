/** The shape every layer mapper has: one tfjs layer call in, its single output value out. */
import type * as tf from '@tensorflow/tfjs';
import type { ExportContext, LayerConfig, Value } from '../context.ts';

/** `outputShape` is the tfjs shape of this call's output (batch first, null where unknown). */
export type LayerMapper = (
  layer: tf.layers.Layer,
  inputs: Value[],
  ctx: ExportContext,
  config: LayerConfig,
  outputShape: (number | null)[],
) => Value;

/** The one input of a single-input layer. */
export function onlyInput(inputs: Value[]): Value {
  if (inputs.length !== 1) throw new Error(`internal: expected one input, got ${inputs.length}`);
  return inputs[0]!;
}
