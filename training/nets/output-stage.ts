/**
 * A generator with one more stage on its output, for filters that belong in the exported graph
 * (the guided filter, the texture flattening): same input, same shared layers and weights.
 */
import * as tf from '@tensorflow/tfjs';

export function withOutputStage(
  generator: tf.LayersModel,
  suffix: string,
  stage: (input: tf.SymbolicTensor, output: tf.SymbolicTensor) => tf.SymbolicTensor,
): tf.LayersModel {
  if (generator.inputs.length !== 1 || generator.outputs.length !== 1) {
    throw new Error(`the generator needs one input and one output, has ${generator.inputs.length} and ${generator.outputs.length}`);
  }
  const input = generator.inputs[0]!;
  return tf.model({ inputs: input, outputs: stage(input, generator.outputs[0]!), name: `${generator.name}_${suffix}` });
}
