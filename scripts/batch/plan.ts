/**
 * What a run will do, decided before any inference: one Job per output file, each with its final
 * path. Translate mirrors the input tree with the new extension; generate lays out
 * `<label>/<seed>.png` (or `<prompt-slug>/<seed>.png`). Outputs that already exist are marked to be
 * skipped here (unless overwriting), which is what makes a re-run resume.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { imageSeed, type OutputFormat, words } from '../../server/shared.ts';
import type { GenerateCommand, LabelToken, TranslateCommand } from './args.ts';
import { UsageError } from './args.ts';
import { findImages } from './walk.ts';

export const FILE_EXTENSIONS: Record<OutputFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp' };

/** The report's name inside the output folder. */
export const REPORT_FILE = 'batch-report.json';

export type Task =
  | { kind: 'translate'; inputPath: string }
  | { kind: 'generate'; conditioning: { label: number } | { prompt: string }; seed: number };

export interface Job {
  /** What the report and progress call it: the input's relative path, or `<folder>/<seed>`. */
  name: string;
  /** Absolute output path. */
  output: string;
  task: Task;
  /** Set when the job is decided without running: an existing output, or a clash with another input. */
  outcome?: { status: 'skipped' } | { status: 'failed'; error: string };
  /** Extra report fields (label, class, seed, prompt). */
  details?: Record<string, unknown>;
}

export interface Plan {
  jobs: Job[];
  /** Relative paths of files under the input that are not images (translate only). */
  ignored: string[];
}

export async function planTranslate(command: TranslateCommand): Promise<Plan> {
  const stat = await fs.stat(command.input).catch(() => null);
  if (!stat?.isDirectory()) throw new UsageError(`--input "${command.input}" is not a folder`);
  const { inputs, ignored } = await findImages(command.input, [command.output]);
  const extension = FILE_EXTENSIONS[command.format];
  const claimed = new Map<string, string>();
  const jobs: Job[] = [];
  for (const input of inputs) {
    const relativeOutput = input.relative.slice(0, input.relative.length - path.posix.extname(input.relative).length) + extension;
    const output = path.join(command.output, ...relativeOutput.split('/'));
    const job: Job = { name: input.relative, output, task: { kind: 'translate', inputPath: input.path } };
    const earlier = claimed.get(output);
    if (earlier !== undefined) {
      job.outcome = { status: 'failed', error: `its output ${relativeOutput} is also the output of ${earlier}; rename one of them` };
    } else {
      claimed.set(output, input.relative);
    }
    jobs.push(job);
  }
  await markExisting(jobs, command.overwrite);
  return { jobs, ignored };
}

/** What the generate plan needs to know about the model. */
export interface GeneratorSummary {
  /** Class names by index, when the model is label-conditioned. */
  classes?: string[];
  /** True when the model takes a text prompt. */
  text: boolean;
}

export async function planGenerate(command: GenerateCommand, model: GeneratorSummary): Promise<Plan> {
  const groups: Array<{ folder: string; conditioning: { label: number } | { prompt: string }; details: Record<string, unknown> }> = [];
  if (command.conditioning.kind === 'labels') {
    if (!model.classes) throw new UsageError(`model "${command.model}" is conditioned on text: use --prompt, not --labels`);
    for (const token of command.conditioning.labels) {
      const label = resolveLabel(token, model.classes, command.model);
      const className = model.classes[label]!;
      groups.push({ folder: safeFolderName(className, `class-${label}`), conditioning: { label }, details: { label, class: className } });
    }
  } else {
    if (!model.text)
      throw new UsageError(`model "${command.model}" has no text input: use --labels (classes ${model.classes?.join(', ')})`);
    if (model.classes) throw new UsageError(`model "${command.model}" needs a class label as well as text; the batch CLI cannot give both`);
    const prompt = command.conditioning.prompt;
    groups.push({ folder: promptFolder(prompt), conditioning: { prompt }, details: { prompt } });
  }
  const jobs: Job[] = [];
  for (const group of groups) {
    for (let i = 0; i < command.count; i += 1) {
      const seed = imageSeed(command.seed, i);
      jobs.push({
        name: `${group.folder}/${seed}`,
        output: path.join(command.output, group.folder, `${seed}.png`),
        task: { kind: 'generate', conditioning: group.conditioning, seed },
        details: { ...group.details, seed },
      });
    }
  }
  await markExisting(jobs, command.overwrite);
  return { jobs, ignored: [] };
}

/** A class index (in range) or a class name → the class index; a UsageError otherwise. */
export function resolveLabel(token: LabelToken, classes: string[], model: string): number {
  const byName = classes.indexOf(String(token));
  if (byName >= 0) return byName;
  if (typeof token === 'number' && token < classes.length) return token;
  const what = typeof token === 'number' ? `label ${token} is out of range` : `unknown label "${token}"`;
  throw new UsageError(`${what}: model "${model}" has classes 0..${classes.length - 1} (${classes.join(', ')})`);
}

/**
 * A prompt → its folder name: its words (split as the tokenizer splits them) joined by '-', at
 * most 64 characters, e.g.
 * "A bold, slanted 7!" → `a-bold-slanted-7`. Prompts with no letters or digits use `prompt`.
 */
export function promptFolder(prompt: string): string {
  let folder = '';
  for (const word of words(prompt)) {
    const next = folder === '' ? word : `${folder}-${word}`;
    if (next.length > 64) break;
    folder = next;
  }
  return folder === '' ? 'prompt' : folder;
}

/** A class name usable as one folder name; `fallback` when it is not (e.g. "a/b", ".."). */
function safeFolderName(name: string, fallback: string): string {
  return /^[^/\\\0]+$/.test(name) && name !== '.' && name !== '..' && name.length <= 128 ? name : fallback;
}

/** Existence checks in flight at once (a run may plan a million files). */
const STAT_CONCURRENCY = 64;

async function markExisting(jobs: Job[], overwrite: boolean): Promise<void> {
  if (overwrite) return;
  for (let start = 0; start < jobs.length; start += STAT_CONCURRENCY) {
    await Promise.all(
      jobs.slice(start, start + STAT_CONCURRENCY).map(async (job) => {
        if (job.outcome) return;
        if (
          await fs.stat(job.output).then(
            (s) => s.isFile(),
            () => false,
          )
        )
          job.outcome = { status: 'skipped' };
      }),
    );
  }
}
