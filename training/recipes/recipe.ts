/**
 * The contract between the training harness and a recipe (digits, digits-text, photo2anime, ...).
 *
 * A recipe knows its nets, data and loss; the harness owns everything around them: the loop,
 * seeding, checkpoints and resume, progress, sample grids, the JSONL log and the final export.
 * Recipes stay one readable file because of that split.
 *
 * Determinism: every random draw of a step must come from the `random` the harness passes to
 * `trainStep` (seeded from the run seed and the step number) or from `epochOrder`; nets must be
 * built with seeded initialisers from `seed`. A run is then a pure function of (seed, options),
 * and resuming from a checkpoint reproduces an uninterrupted run exactly on a deterministic backend.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ExportOptions } from '../export/onnx.ts';

/** Option values as the CLI parses them (`--noise-dim 64`, `--loss wgan-gp`, `--subset 500`). */
export type OptionValue = number | string | boolean;
export type RecipeOptions = Record<string, OptionValue>;

/** What a recipe needs to build its nets and data. */
export interface RecipeSetup<Options extends RecipeOptions> {
  /** The run seed (uint32). */
  seed: number;
  batchSize: number;
  /** The recipe's defaults overridden by the caller's options. */
  options: Options;
}

/** The manifest fields a recipe contributes; the harness adds `onnx` and `provenance`. */
export type ManifestFields = Record<string, unknown> & { name: string; task: string };

/** A recipe's live state during one run. */
export interface RecipeSession {
  /** Every model whose weights (trainable and not) a checkpoint must hold, by a stable key. */
  models: Record<string, tf.LayersModel>;
  /** Every optimizer whose state a checkpoint must hold, by a stable key. */
  optimizers: Record<string, tf.Optimizer>;
  /** Training examples per epoch; `--epochs N` means ⌊N · this / batchSize⌋ steps. */
  examplesPerEpoch: number;
  /** A short description of the data for the manifest's provenance. */
  dataset: Record<string, unknown>;
  /**
   * One optimisation step on the batch of step `step` (0-based). Returns the losses to log, as
   * plain numbers. `random` yields floats in [0, 1) and is seeded from (run seed, step).
   */
  trainStep(step: number, random: () => number): Record<string, number>;
  /**
   * Images for the sample grid, from fixed noise so grids are comparable across steps:
   * shape [N, H, W, C] in [-1, 1], laid out `sampleColumns` per row. The caller disposes it.
   */
  sample(): tf.Tensor4D;
  sampleColumns: number;
  /**
   * The model to export, the exporter's options (input/output names and shapes) and the manifest
   * fields (task, noise, label, text, output, description), and extra files for the model folder
   * by plain name (a text model's vocab.json).
   */
  exportTarget(): {
    model: tf.LayersModel;
    exportOptions?: ExportOptions;
    manifest: ManifestFields;
    files?: Record<string, string | Uint8Array>;
  };
  /** Frees data tensors; models and optimizers are disposed by the harness. */
  dispose?(): void;
}

export interface Recipe<Options extends RecipeOptions = RecipeOptions> {
  name: string;
  /** One line for `npm run train -- --help`. */
  summary: string;
  /** Defaults for the harness options; the CLI flags override them. */
  defaults: { batchSize: number; epochs?: number; steps?: number; checkpointEvery?: number; sampleEvery?: number };
  /** Recipe-specific options with their defaults; the types of the defaults are the types accepted. */
  options: Options;
  setup(setup: RecipeSetup<Options>): Promise<RecipeSession> | RecipeSession;
}
