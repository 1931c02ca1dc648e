/**
 * What a conditional recipe's discriminator is asked to judge in one training step: the
 * conditioning input (labels or caption tokens) of every discriminator call, in call order, one
 * string per row ("3", or a token row "4 17 0 0 …"). Tests of which condition each loss term sees
 * compare these.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Recipe, RecipeOptions } from '../../training/recipes/recipe.ts';
import { mulberry32 } from '../helpers/image-models.ts';

export async function judgedConditions<Options extends RecipeOptions>(
  recipe: Recipe<Options>,
  options: Options,
  batchSize: number,
): Promise<string[][]> {
  const session = await recipe.setup({ seed: 3, batchSize, options });
  const discriminator = session.models.discriminator!;
  const apply = discriminator.apply.bind(discriminator);
  const calls: string[][] = [];
  discriminator.apply = ((inputs, kwargs) => {
    const rows = (inputs as tf.Tensor[])[1]!.arraySync() as number[][];
    calls.push(rows.map((row) => row.join(' ')));
    return apply(inputs, kwargs);
  }) as typeof discriminator.apply;
  session.trainStep(0, mulberry32(5));
  session.dispose?.();
  for (const model of Object.values(session.models)) model.dispose();
  return calls;
}

/** Rows i and i + N/2 hold the same condition (the mode-seeking term's pairs). */
export const inPairs = (rows: string[]): boolean => rows.every((row, i) => row === rows[(i + rows.length / 2) % rows.length]);
