/** Shared check that `npm run train -- <recipe>` at its defaults trains the committed model. */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import type { Recipe } from '../../training/recipes/recipe.ts';

/** The committed manifest's recipe options, batch and steps are the recipe's defaults (steps from epochs). */
export async function expectDefaultsTrainCommitted(recipe: Pick<Recipe, 'defaults' | 'options'>, manifestPath: string): Promise<void> {
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  const { options, batchSize, steps, dataset } = manifest.provenance;
  expect(options).toEqual(recipe.options);
  expect(batchSize).toBe(recipe.defaults.batchSize);
  const stepsPerEpoch = Math.floor(dataset.trainingDigits / batchSize);
  expect(steps).toBe(Math.ceil(recipe.defaults.epochs! * stepsPerEpoch));
}
