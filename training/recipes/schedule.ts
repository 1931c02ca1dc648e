/**
 * The learning-rate schedule the GAN recipes share (photo2anime, pix2pix): the reference
 * CycleGAN/pix2pix 'linear' policy, constant and then decayed linearly to 0.
 */
import type * as tf from '@tensorflow/tfjs';

export interface LinearDecaySchedule {
  learningRate: number;
  /** Steps at the full learning rate. */
  constantSteps: number;
  /** Steps of linear decay to 0 after them. */
  decaySteps: number;
}

/** Learning rate at `step`: constant, then linear decay to 0. */
export function learningRateAt(step: number, schedule: LinearDecaySchedule): number {
  if (step < schedule.constantSteps) return schedule.learningRate;
  if (schedule.decaySteps <= 0) return 0;
  return schedule.learningRate * Math.max(0, 1 - (step - schedule.constantSteps) / schedule.decaySteps);
}

/** The optimizer's learning rate lives in a field tfjs does not expose for writing. */
export function setLearningRate(optimizer: tf.AdamOptimizer, value: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = value;
}
