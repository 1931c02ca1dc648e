/**
 * `npm run train | eval | data -- ...`: the training module's one entry point.
 *
 *   npm run train -- <recipe> [--epochs N | --steps N] [--batch-size B] [--out DIR] [--resume DIR]
 *                             [--seed S] [--backend auto|wasm-ort|wasm|cpu|tfjs-node|tfjs-node-gpu]
 *                             [--checkpoint-every N] [--sample-every N] [--log-every N]
 *                             [--<recipe option> VALUE ...]
 *   npm run eval -- <model folder or name under models/> [--record] [--fid-samples N]
 *   npm run data -- photo2anime | colorize [...]
 *
 * Recipe options are the recipe's own (e.g. `--loss wgan-gp`, `--subset 500` for digits); a value
 * is parsed as the type of the option's default. Exit codes: 0 ok, 2 usage error, 3 eval targets
 * not met, 130 stopped by Ctrl-C. Ctrl-C stops after the current step with a
 * checkpoint, and `--resume <run folder>` continues from it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OptionValue, Recipe, RecipeOptions } from './recipes/recipe.ts';

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

/** Usage error: printed with the usage text, exit code 2. */
class UsageError extends Error {}

/** Signals that stop a training run after its current step; exit codes by the shell's 128 + n. */
const STOP_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_EXIT_CODES;
const HARNESS_FLAGS = new Set([
  'epochs',
  'steps',
  'batch-size',
  'out',
  'resume',
  'seed',
  'backend',
  'checkpoint-every',
  'sample-every',
  'log-every',
  'progress',
]);

interface ParsedArgs {
  positional: string[];
  flags: Map<string, string>;
}

/** `--name value` and `--name=value`; a flag followed by another flag (or nothing) is `true`. */
export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.set(body.slice(0, eq), body.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      flags.set(body, argv[i + 1]!);
      i += 1;
    } else {
      flags.set(body, 'true');
    }
  }
  return { positional, flags };
}

function integerFlag(flags: Map<string, string>, name: string, min: number): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

function numberFlag(flags: Map<string, string>, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

const camelCase = (kebab: string) => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const kebabCase = (camel: string) => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Recipe flags → typed recipe options; an unknown flag is a usage error listing the known ones. */
export function recipeOptionsFrom(flags: Map<string, string>, defaults: RecipeOptions): Partial<RecipeOptions> {
  const options: Record<string, OptionValue> = {};
  for (const [flag, raw] of flags) {
    if (HARNESS_FLAGS.has(flag)) continue;
    const key = camelCase(flag);
    const fallback = defaults[key];
    if (fallback === undefined) {
      const known = Object.keys(defaults).map((k) => `--${kebabCase(k)}`);
      throw new UsageError(`unknown option --${flag}; this recipe takes ${known.join(', ') || 'no options'}`);
    }
    if (typeof fallback === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
      options[key] = value;
    } else if (typeof fallback === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${flag} must be true or false, got "${raw}"`);
      options[key] = raw === 'true';
    } else {
      options[key] = raw;
    }
  }
  return options;
}

function timestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');
}

async function trainCommand(args: ParsedArgs): Promise<number> {
  const [recipeName] = args.positional;
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

/**
 * Evaluates a model folder (or a name under models/) with the eval its task calls for:
 * conditional digit generators → training/eval/digits.ts, models of the colorize recipe (by their
 * provenance) → training/eval/colorize.ts, other image-to-image → training/eval/photo.ts.
 * `--record` writes the figures into the manifest's provenance.eval.
 */
async function evalCommand(args: ParsedArgs): Promise<number> {
  const [target] = args.positional;
  if (target === undefined) throw new UsageError('which model? give a model folder or a name under models/');
  const { flags } = args;
  const digits = await import('./eval/digits.ts');
  const { MIN_FID_SAMPLES } = await import('./eval/realism.ts');
  const folder = await digits.resolveModelFolder(target).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const manifestPath = join(folder, 'model.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown> & {
    task?: string;
    text?: unknown;
    label?: unknown;
    provenance?: Record<string, unknown>;
  };
  let figures: Record<string, unknown>;
  let targetsMet: boolean;
  if (manifest.task === 'conditional-generation' && manifest.text !== undefined && manifest.label === undefined) {
    const textDigits = await import('./eval/digits-text.ts');
    const result = await textDigits.runDigitsTextEval(folder, {
      perPrompt: integerFlag(flags, 'per-prompt', 2),
      seed: integerFlag(flags, 'seed', 0),
      fidSamples: integerFlag(flags, 'fid-samples', MIN_FID_SAMPLES),
      out: flags.get('out'),
    });
    targetsMet = result.targetsMet;
    figures = {
      kind: 'digits-text',
      accuracy: result.accuracy,
      digitAccuracy: result.digits.map((d) => d.accuracy),
      strokeDigits: result.strokeDigits,
      inkRatio: result.digits.map((d) => d.inkRatio),
      slantDigits: result.slantDigits,
      slantUpright: result.digits.map((d) => d.meanSlant.upright),
      slantSlanted: result.digits.map((d) => d.meanSlant.slanted),
      diversityRatio: result.diversityRatio,
      perPrompt: result.perPrompt,
      seed: result.seed,
      promptTemplates: 'held-out',
      realism: result.realism,
      realismTargets: result.realismTargets,
      realismTargetsMet: result.realismTargetsMet,
      classifierHeldOutAccuracy: result.classifier.heldOutAccuracy,
      targetsMet: result.targetsMet,
    };
  } else if (manifest.task === 'conditional-generation') {
    const result = await digits.runDigitsEval(folder, {
      perClass: integerFlag(flags, 'per-class', 2),
      seed: integerFlag(flags, 'seed', 0),
      fidSamples: integerFlag(flags, 'fid-samples', MIN_FID_SAMPLES),
      out: flags.get('out'),
    });
    targetsMet = result.targetsMet;
    figures = {
      kind: 'digits',
      accuracy: result.accuracy,
      minClassAccuracy: result.minClassAccuracy,
      classAccuracy: result.classes.map((c) => c.accuracy),
      diversityRatio: result.diversityRatio,
      minClassDiversityRatio: result.minClassDiversityRatio,
      classDiversityRatio: result.classes.map((c) => c.diversityRatio),
      realism: result.realism,
      realismTargets: result.realismTargets,
      realismTargetsMet: result.realismTargetsMet,
      perClass: result.perClass,
      seed: result.seed,
      classifierHeldOutAccuracy: result.classifier.heldOutAccuracy,
      targetsMet: result.targetsMet,
    };
  } else if (manifest.task === 'image-to-image' && manifest.provenance?.recipe === 'colorize') {
    const colorize = await import('./eval/colorize.ts');
    const l1Only = flags.get('l1-only');
    const report = await colorize.runColorizeEval(folder, {
      dataDir: flags.get('data'),
      contactSheet: flags.get('out'),
      l1Only:
        l1Only === undefined
          ? undefined
          : await digits.resolveModelFolder(l1Only).catch((error: Error) => {
              throw new UsageError(error.message);
            }),
    });
    console.log(colorize.formatColorizeEval(report));
    targetsMet = report.targets.met;
    figures = {
      kind: 'colorize',
      photos: report.photos,
      rows: report.rows,
      targets: report.targets,
      timing: report.timing,
      l1Only: report.l1Only,
    };
  } else if (manifest.task === 'image-to-image') {
    const photo = await import('./eval/photo.ts');
    const report = await photo.runPhotoEval(folder, { dataDir: flags.get('data'), contactSheet: flags.get('out') });
    console.log(photo.formatPhotoEval(report));
    targetsMet = report.targets.met;
    figures = {
      kind: 'photo',
      photos: report.photos,
      evalSide: report.evalSide,
      swdPhotos: report.swdPhotos,
      methods: report.methods,
      targets: report.targets,
    };
  } else {
    throw new UsageError(`${manifestPath}: no evaluation for task "${String(manifest.task)}"`);
  }
  if (flags.has('record')) {
    const rounded = JSON.parse(JSON.stringify(figures, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(4)) : v)));
    manifest.provenance = { ...manifest.provenance, eval: { ...rounded, date: new Date().toISOString() } };
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(`[eval] recorded the figures in ${manifestPath} (provenance.eval)`);
  }
  return targetsMet ? 0 : 3;
}

/** `data colorize`: builds data/colorize from Debian packages. */
async function colorizeDataCommand({ flags }: ParsedArgs): Promise<number> {
  const { buildColorize } = await import('./data/colorize.ts');
  const { debianPackageFetcher, NoDebianToolsError } = await import('./data/debian-packages.ts');
  const outDir = flags.get('out') ?? join('data', 'colorize');
  try {
    const record = await buildColorize({
      outDir,
      maxSide: integerFlag(flags, 'max-side', 64),
      testMaxSide: integerFlag(flags, 'test-max-side', 64),
      fetchPackage: debianPackageFetcher(flags.get('cache') ?? join('data', '.debs')),
      log: (line) => console.log(`[data] ${line}`),
    });
    const balance = (split: 'train' | 'test') =>
      Object.entries(record.balance[split])
        .map(([tag, n]) => `${tag} ${n}`)
        .join(', ');
    console.log(
      `[data] ${outDir}: train ${record.photos.train} photos in ${record.counts.train} files (${balance('train')}); test ${record.photos.test} (${balance('test')})`,
    );
    return 0;
  } catch (error) {
    if (error instanceof NoDebianToolsError)
      throw new UsageError('this host has no apt-get/dpkg-deb: build data/colorize on a Debian host and copy it here');
    throw error;
  }
}

/** `data photo2anime`: builds data/photo2anime from Debian packages, or from two folders. */
async function dataCommand(args: ParsedArgs): Promise<number> {
  const [dataset] = args.positional;
  if (dataset === 'colorize') return colorizeDataCommand(args);
  if (dataset !== 'photo2anime')
    throw new UsageError(`unknown dataset "${dataset ?? ''}"; known: photo2anime, colorize (MNIST ships inside the mnist package)`);
  const { flags } = args;
  const { buildPhoto2Anime } = await import('./data/photo2anime.ts');
  const { debianPackageFetcher, NoDebianToolsError } = await import('./data/debian-packages.ts');
  const outDir = flags.get('out') ?? join('data', 'photo2anime');
  try {
    const sources = await buildPhoto2Anime({
      outDir,
      maxSide: integerFlag(flags, 'max-side', 16),
      fetchPackage: debianPackageFetcher(flags.get('cache') ?? join('data', '.debs')),
      dataA: flags.get('dataA'),
      dataB: flags.get('dataB'),
      log: (line) => console.log(`[data] ${line}`),
    });
    console.log(
      `[data] ${outDir}: ${Object.entries(sources.counts)
        .map(([split, n]) => `${split} ${n}`)
        .join(', ')}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof NoDebianToolsError) throw new UsageError(error.message);
    throw error;
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
