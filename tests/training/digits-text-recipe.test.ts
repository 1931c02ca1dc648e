/**
 * The digits-text recipe's two losses: which captions each discriminator call of one step scores,
 * and a few WGAN-GP steps that train and export; and that its defaults are the committed model's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../training/backend/select.ts';
import { train } from '../../training/harness.ts';
import { digitsTextRecipe, type DigitsTextOptions } from '../../training/recipes/digits-text.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { expectDefaultsTrainCommitted } from './committed-model.ts';
import { inPairs, judgedConditions } from './discriminator-calls.ts';

const SMALL_NETS = { generatorWidth: 8, discriminatorWidth: 8 };

let root: string;

beforeAll(async () => {
  await selectBackend('wasm-ort', { log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'digits-text-recipe-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const judgedTokens = (loss: 'bce' | 'wgan-gp') =>
  judgedConditions(
    digitsTextRecipe,
    { ...digitsTextRecipe.options, ...SMALL_NETS, subset: 64, noiseScale: 1, loss } satisfies DigitsTextOptions,
    8,
  );

describe('digits-text recipe losses', () => {
  it('scores WGAN-GP fakes and penalty interpolates under the real captions, with no mismatched pairs; BCE fakes come in same-caption pairs', async () => {
    const [real, fake, ...rest] = await judgedTokens('wgan-gp');
    const generatorCall = rest.pop()!;
    expect(rest.length).toBeGreaterThan(0); // the penalty's critic call(s)
    for (const rows of [fake, ...rest]) expect(rows).toEqual(real);
    expect(inPairs(generatorCall)).toBe(true); // the mode-seeking pairs

    const [bceReal, bceFake, bceWrong, bceGenerator, ...none] = await judgedTokens('bce');
    expect(none).toEqual([]);
    expect(inPairs(bceFake!)).toBe(true);
    expect(bceGenerator).toEqual(bceFake);
    expect(bceFake).not.toEqual(bceReal);
    expect(bceWrong!.some((row, i) => row !== bceReal![i])).toBe(true);
  }, 60_000);

  it('trains a few WGAN-GP steps with style-free digit-only captions to finite losses and records the options in the export', async () => {
    const result = await train({
      recipe: digitsTextRecipe as unknown as Recipe,
      outDir: join(root, 'wgan-gp'),
      steps: 2,
      batchSize: 8,
      recipeOptions: { ...SMALL_NETS, subset: 64, loss: 'wgan-gp', plainCaption: 0.5 },
      progress: 'silent',
      backend: 'wasm-ort',
    });
    for (const model of Object.values(result.models)) model.dispose();
    expect(result.step).toBe(2);
    for (const value of Object.values(result.lastLosses)) expect(Number.isFinite(value)).toBe(true);
    const manifest = JSON.parse(await readFile(join(result.exportDir!, 'model.json'), 'utf8'));
    expect(manifest.description).toContain('WGAN-GP');
    expect(manifest.provenance.options).toMatchObject({ loss: 'wgan-gp', gradientPenaltyWeight: 10, plainCaption: 0.5 });
  }, 90_000);

  it('reproduces the committed model at its defaults: `npm run train -- digits-text` has its options, batch and steps', async () => {
    await expectDefaultsTrainCommitted(digitsTextRecipe, 'models/digits-text/model.json');
  });

  it('refuses an unknown loss', () => {
    const options = { ...digitsTextRecipe.options, ...SMALL_NETS, subset: 64, loss: 'hinge' };
    expect(() => digitsTextRecipe.setup({ seed: 1, batchSize: 8, options })).toThrow(/--loss must be bce or wgan-gp/);
  });
});
