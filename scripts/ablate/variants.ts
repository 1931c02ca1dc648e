/**
 * What `npm run ablate:photo2anime` trains: the variants (each a change of the recipe's defaults,
 * by its flags) and the recipe flags passed to all of them.
 */

/**
 * Each variant switches one technique of the recipe's defaults, off or (where the defaults leave it
 * off) on, by its flags; `all` is the recipe as it stands.
 */
export const ABLATION_VARIANTS: { name: string; technique: string; flags: string[] }[] = [
  { name: 'all', technique: 'the recipe defaults', flags: [] },
  {
    name: 'no-flatten',
    technique: 'texture flattening off (not in training, not in the graph)',
    flags: ['--output-filter', 'none', '--flatten-during-training', 'false'],
  },
  {
    name: 'flatten-at-export',
    technique: 'flattening in the graph only, not seen in training',
    flags: ['--flatten-during-training', 'false'],
  },
  {
    name: 'pixels',
    technique: 'the pixel head (a decoder draws the output) instead of the colour transforms',
    flags: ['--generator-head', 'pixels'],
  },
  { name: 'no-disc-blur', technique: 'anime discriminator sees sharp images', flags: ['--anime-discriminator-blur', '0'] },
  { name: 'no-grey', technique: 'grey negatives off', flags: ['--grey-negatives', '0'] },
  { name: 'no-diffaugment', technique: 'DiffAugment off', flags: ['--diff-augment', 'false'] },
  { name: 'identity', technique: 'the reference identity loss on (0.5·λ)', flags: ['--lambda-identity', '0.5'] },
  { name: 'color', technique: 'colour anchor to the photo on (weight 1)', flags: ['--lambda-color', '1'] },
  { name: 'edge', technique: 'edge-smoothed negatives on (weight 1)', flags: ['--edge-negatives', '1'] },
];

/** The script's own flags; every other `--name value` pair goes to every variant's training. */
const OWN_FLAGS = ['steps', 'out', 'only'];

export function passedThrough(args: string[]): string[] {
  const passed: string[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]!;
    if (!name.startsWith('--') || args[i + 1] === undefined) throw new Error(`expected --name value pairs, got ${args.slice(i).join(' ')}`);
    if (!OWN_FLAGS.includes(name.slice(2))) passed.push(name, args[i + 1]!);
  }
  return passed;
}
