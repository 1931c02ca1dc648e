/**
 * The contract between the pix2pix recipe and a paired task (colorize, upscale2x, ...): a pair
 * maker turns photos into (input, target) pairs, says how to show both as RGB, and wraps the
 * trained generator into the graph the server runs. Adding a paired task is one pair maker and
 * one recipe entry (training/recipes/pix2pix.ts).
 */
import type * as tf from '@tensorflow/tfjs';

/** A generator input and the output it should produce, NHWC, same height and width, both in [-1, 1]. */
export interface TrainingPair {
  input: tf.Tensor4D;
  target: tf.Tensor4D;
}

export interface PairMaker {
  /** The task's name: recipe, model folder and manifest name (e.g. `colorize`). */
  name: string;
  /** The manifest's description. */
  description: string;
  inputChannels: number;
  targetChannels: number;
  /** The target is a chroma pair (a*b* in [-1, 1]): the recipe may rebalance its loss by colour rarity. */
  chromaTarget?: boolean;
  /** Photos (NHWC RGB in [-1, 1]) → pairs; the caller disposes both tensors. */
  makePair(photos: tf.Tensor4D): TrainingPair;
  /** A generator input as RGB in [-1, 1], for sample grids and contact sheets. */
  inputAsRgb(input: tf.Tensor4D): tf.Tensor4D;
  /** A generator output (or a target) as RGB in [-1, 1], given the input it belongs to. */
  outputAsRgb(input: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor4D;
  /**
   * The generator inside the exported graph: RGB in [-1, 1] in and out, the server's convention.
   * A chroma target's maker scales the predicted chroma by `chromaGain` there (1: as trained).
   */
  servingModel(generator: tf.LayersModel, chromaGain?: number): tf.LayersModel;
}
