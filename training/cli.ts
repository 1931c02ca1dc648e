/**
 * `npm run train | eval | data -- ...`: the training module's one entry point.
 *
 *   npm run train -- <recipe> [--epochs N | --steps N] [--batch-size B] [--out DIR] [--resume DIR]
 *                             [--seed S] [--backend auto|wasm-ort|wasm|cpu|tfjs-node|tfjs-node-gpu]
 *                             [--checkpoint-every N] [--sample-every N] [--log-every N]
 *                             [--<recipe option> VALUE ...]
 *   npm run eval -- <model folder or name under models/> [--record] [--fid-samples N]
 *   npm run data -- photo2anime | colorize | independent [...]
 *
 * Recipe options are the recipe's own (e.g. `--loss wgan-gp`, `--subset 500` for digits); a value
 * is parsed as the type of the option's default. Exit codes: 0 ok, 2 usage error, 3 eval targets
 * not met, 130 stopped by Ctrl-C. Ctrl-C stops after the current step with a
 * checkpoint, and `--resume <run folder>` continues from it.
 */
import { join, resolve } from 'node:path';
import { integerFlag, numberFlag, onlyPositional, type ParsedArgs, parseArgs, recipeOptionsFrom, UsageError } from './cli/args.ts';
import { dataCommand } from './cli/data-command.ts';
import { evalCommand } from './cli/eval-command.ts';
import type { Recipe } from './recipes/recipe.ts';

// tfjs, the backends and the eval code load lazily, so usage errors answer at once.
const BACKEND_USAGE = 'auto|wasm-ort|wasm|cpu|tfjs-node|tfjs-node-gpu';

/** Recipes by name, loaded on demand so one recipe's imports never slow down another's start. */
const RECIPES: Record<string, () => Promise<Recipe>> = {
  smoke: async () => (await import('./recipes/smoke.ts')).smokeRecipe as unknown as Recipe,
  digits: async () => (await import('./recipes/digits.ts')).digitsRecipe as unknown as Recipe,
  'digits-text': async () => (await import('./recipes/digits-text.ts')).digitsTextRecipe as unknown as Recipe,
  photo2anime: async () => (await import('./recipes/photo2anime.ts')).photo2animeRecipe as unknown as Recipe,
  colorize: async () => (await import('./recipes/pix2pix.ts')).colorizeRecipe as unknown as Recipe,
  upscale2x: async () => (await import('./recipes/pix2pix.ts')).upscale2xRecipe as unknown as Recipe,
};

/** Signals that stop a training run after its current step; exit codes by the shell's 128 + n. */
const STOP_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_EXIT_CODES;

function timestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');
}

async function trainCommand(args: ParsedArgs): Promise<number> {
  const recipeName = onlyPositional(args, 'recipe');
  if (recipeName === undefined || args.flags.has('help')) throw new UsageError('which recipe?');
  const loadRecipe = RECIPES[recipeName];
  if (loadRecipe === undefined) throw new UsageError(`unknown recipe "${recipeName}"; known: ${Object.keys(RECIPES).join(', ')}`);
  const { flags } = args;
  if (flags.has('epochs') && flags.has('steps')) throw new UsageError('give --epochs or --steps, not both');
  const backendFlag = flags.get('backend') ?? 'auto';
  const progress = flags.get('progress');
  if (progress !== undefined && !['auto', 'bar', 'lines', 'silent'].includes(progress))
    throw new UsageError('--progress must be auto, bar, lines or silent');

  const recipe = await loadRecipe();
  const recipeOptions = recipeOptionsFrom(flags, recipe.options);
  const resume = flags.get('resume');
  const outDir = flags.get('out') ?? (resume === undefined ? join('runs', `${recipe.name}-${timestamp()}`) : undefined);
  const { isBackendPreference, selectBackend } = await import('./backend/select.ts');
  if (!isBackendPreference(backendFlag)) throw new UsageError(`--backend must be one of ${BACKEND_USAGE.replaceAll('|', ', ')}`);
  const backend = await selectBackend(backendFlag);
  const { train } = await import('./harness.ts');

  // Ctrl-C, or SIGTERM (docker stop, systemd, a batch scheduler): finish the step, checkpoint and
  // exit 130 / 143, so `--resume` loses nothing; the same signal again quits at once.
  const stop = new AbortController();
  let stoppedBy: StopSignal = 'SIGINT';
  const onSignal = (signal: StopSignal) => {
    if (stop.signal.aborted) process.exit(STOP_EXIT_CODES[signal]);
    stoppedBy = signal;
    console.error(`\n[train] stopping after this step with a checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit now)`);
    stop.abort();
  };
  const stopSignals = Object.keys(STOP_EXIT_CODES) as StopSignal[];
  for (const signal of stopSignals) process.on(signal, onSignal);
  try {
    const result = await train({
      recipe,
      outDir: outDir === undefined ? undefined : resolve(outDir),
      resume: resume === undefined ? undefined : resolve(resume),
      seed: integerFlag(flags, 'seed', 0),
      batchSize: integerFlag(flags, 'batch-size', 1),
      steps: integerFlag(flags, 'steps', 1),
      epochs: numberFlag(flags, 'epochs'),
      checkpointEvery: integerFlag(flags, 'checkpoint-every', 1),
      sampleEvery: integerFlag(flags, 'sample-every', 1),
      logEvery: integerFlag(flags, 'log-every', 1),
      progress: progress as 'auto' | 'bar' | 'lines' | 'silent' | undefined,
      recipeOptions,
      backend,
      stop: stop.signal,
    });
    for (const model of Object.values(result.models)) model.dispose();
    if (result.interrupted) {
      console.log(
        `[train] stopped at step ${result.step}/${result.totalSteps}; continue with: npm run train -- ${recipe.name} --resume ${result.outDir}`,
      );
      return STOP_EXIT_CODES[stoppedBy];
    }
    console.log(`[train] done: ${result.step} steps in ${result.outDir}`);
    if (result.exportDir) console.log(`[train] exported ${result.exportDir} (copy it into models/ to serve it)`);
    return 0;
  } finally {
    for (const signal of stopSignals) process.off(signal, onSignal);
  }
}

const USAGE = `usage:
  npm run train -- <recipe> [--epochs N | --steps N] [--batch-size B] [--out DIR] [--resume DIR]
                            [--seed S] [--backend ${BACKEND_USAGE}]
                            [--checkpoint-every N] [--sample-every N] [--log-every N] [--progress auto|bar|lines|silent]
                            [--<recipe option> VALUE ...]
  npm run eval -- <model folder or name under models/> [--record] [--per-class N | --per-prompt N] [--fid-samples N] [--seed S] [--out PNG or DIR] [--data DIR]
                   [--l1-only <model folder>] (colorize: the L1-only row)
  npm run data -- photo2anime [--out DIR] [--max-side N] [--cache DIR] [--dataA DIR --dataB DIR]
  npm run data -- colorize [--out DIR] [--max-side N] [--test-max-side N] [--cache DIR]
  npm run data -- independent [--out DIR] [--max-side N] [--cache DIR]   (evaluation only: --data data/independent)
recipes: ${Object.keys(RECIPES).join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  switch (command) {
    case 'train':
      return trainCommand(args);
    case 'eval':
      return evalCommand(args);
    case 'data':
      return dataCommand(args);
    default:
      throw new UsageError(`unknown command "${command ?? ''}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
