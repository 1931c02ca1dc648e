/**
 * `npm run ablate:photo2anime`: the photo2anime recipe with one technique switched per variant
 * (ablate/variants.ts), every variant trained for the same short budget from the same seed, then
 * scored by the photo eval on the held-out photos. Prints (and writes to <out>/ablation.md) one
 * row per variant: the SWD ratio, its multiple of Reinhard's, and the mean and lowest grey SSIM.
 *
 *   npm run ablate:photo2anime -- [--steps 1000] [--out runs/ablation] [--only all,pixels]
 *                                   [--crop-size 96 --generator-filters 24 ...]
 *
 * Any other recipe flag is passed to every variant (a smaller net or crop for a quicker table).
 * A variant whose run folder already holds an export is scored again without retraining, so an
 * interrupted ablation continues where it stopped. With the recipe's default schedule the
 * learning rate is still constant up to 1,000 steps, so the `all` row equals the first steps of a
 * full default run from the same seed.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type PhotoEvalReport, runPhotoEval } from '../training/eval/photo.ts';
import { ABLATION_VARIANTS, passedThrough } from './ablate/variants.ts';

const run = promisify(execFile);

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

interface Row {
  variant: string;
  technique: string;
  report: PhotoEvalReport;
  trainingSeconds: number | undefined;
}

function formatRows(rows: Row[], steps: number): string {
  const f = (v: number) => v.toFixed(3);
  return [
    `| variant (${steps} steps) | SWD ratio | × Reinhard's | below cartoon | mean SSIM | min SSIM | training time |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(({ variant, technique, report, trainingSeconds }) => {
      const t = report.targets;
      const time = trainingSeconds === undefined ? '–' : `${Math.round(trainingSeconds / 60)} min`;
      return `| ${variant}: ${technique} | ${f(report.methods.translated.swdRatio)} | ${f(t.swdVsReinhard)} | ${t.swdBelowCartoon ? 'yes' : 'no'} | ${f(t.ssimMean)} | ${f(t.ssimMin)} | ${time} |`;
    }),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = Number(flag(args, 'steps') ?? 1000);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${flag(args, 'steps')}`);
  const out = flag(args, 'out') ?? join('runs', 'ablation');
  const only = flag(args, 'only')?.split(',');
  const unknown = only?.filter((name) => !ABLATION_VARIANTS.some((v) => v.name === name)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown variant ${unknown.join(', ')}; known: ${ABLATION_VARIANTS.map((v) => v.name).join(', ')}`);
  const variants = ABLATION_VARIANTS.filter((v) => only === undefined || only.includes(v.name));
  const common = passedThrough(args);
  await mkdir(out, { recursive: true });

  const rows: Row[] = [];
  for (const variant of variants) {
    const dir = join(out, variant.name);
    const exportDir = join(dir, 'export', 'photo2anime');
    if (!(await exists(join(exportDir, 'model.json')))) {
      console.log(`[ablate] training ${variant.name} (${variant.technique}) for ${steps} steps`);
      const cli = [
        'tsx',
        'training/cli.ts',
        'train',
        'photo2anime',
        '--steps',
        String(steps),
        '--out',
        dir,
        '--progress',
        'silent',
        ...common,
        ...variant.flags,
      ];
      await run('npx', cli, { maxBuffer: 64 << 20 });
    }
    const report = await runPhotoEval(exportDir, { contactSheet: join(dir, 'contact-sheet.png') });
    const manifest = JSON.parse(await readFile(join(exportDir, 'model.json'), 'utf8')) as { provenance?: { trainingSeconds?: number } };
    rows.push({ variant: variant.name, technique: variant.technique, report, trainingSeconds: manifest.provenance?.trainingSeconds });
    console.log(formatRows(rows.slice(-1), steps).split('\n').at(-1));
  }
  const table = formatRows(rows, steps);
  await writeFile(join(out, 'ablation.md'), `${table}\n`);
  await writeFile(
    join(out, 'ablation.json'),
    `${JSON.stringify(
      rows.map((r) => ({ ...r, report: { ...r.report } })),
      null,
      2,
    )}\n`,
  );
  console.log(`\n${table}\n\n[ablate] written to ${join(out, 'ablation.md')}`);
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
