/**
 * The photo2anime ablation's variants (scripts/ablate/variants.ts): every variant's flags are
 * options the recipe knows, with values of the right type, and each changes what it says; the
 * script's own flags stay with it and every other pair goes to every variant.
 */
import { describe, expect, it } from 'vitest';
import { ABLATION_VARIANTS, passedThrough } from '../../scripts/ablate/variants.ts';
import { recipeOptionsFrom } from '../../training/cli/args.ts';
import { PHOTO2ANIME_OPTIONS } from '../../training/recipes/photo2anime.ts';

const asFlags = (pairs: string[]) =>
  new Map(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i]!.slice(2), pairs[2 * i + 1]!]));

describe('photo2anime ablation variants', () => {
  it.each(ABLATION_VARIANTS.filter((v) => v.name !== 'all'))(
    '$name changes recipe options it names, away from the defaults',
    ({ flags }) => {
      const options = recipeOptionsFrom(asFlags(flags), PHOTO2ANIME_OPTIONS);
      expect(Object.keys(options).length).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(options))
        expect(value, key).not.toEqual(PHOTO2ANIME_OPTIONS[key as keyof typeof PHOTO2ANIME_OPTIONS]);
    },
  );

  it('has unique names and an `all` row with no flags', () => {
    expect(new Set(ABLATION_VARIANTS.map((v) => v.name)).size).toBe(ABLATION_VARIANTS.length);
    expect(ABLATION_VARIANTS.find((v) => v.name === 'all')?.flags).toEqual([]);
  });

  it('passes every flag but its own to the variants', () => {
    expect(passedThrough(['--steps', '500', '--crop-size', '96', '--out', 'runs/a', '--generator-filters', '24', '--only', 'all'])).toEqual(
      ['--crop-size', '96', '--generator-filters', '24'],
    );
    expect(() => passedThrough(['--crop-size'])).toThrow(/--name value pairs/);
    expect(() => passedThrough(['96', '--crop-size'])).toThrow(/--name value pairs/);
  });
});
