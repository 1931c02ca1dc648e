/** `npm run eval -- <model>`: the eval a model's task calls for, and `--record`. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integerFlag, onlyPositional, type ParsedArgs, UsageError } from './args.ts';

/**
 * Evaluates a model folder (or a name under models/) with the eval its task calls for:
 * conditional digit generators → training/eval/digits.ts, models of the colorize recipe (by their
 * provenance) → training/eval/colorize.ts, other image-to-image → training/eval/photo.ts.
 * `--record` writes the figures into the manifest's provenance.eval.
 */
export async function evalCommand(args: ParsedArgs): Promise<number> {
  const target = onlyPositional(args, 'model folder or name under models/');
  if (target === undefined) throw new UsageError('which model? give a model folder or a name under models/');
  const { flags } = args;
  const digits = await import('../eval/digits.ts');
  const { MIN_FID_SAMPLES } = await import('../eval/realism.ts');
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
    const textDigits = await import('../eval/digits-text.ts');
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
    const colorize = await import('../eval/colorize.ts');
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
    const photo = await import('../eval/photo.ts');
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
