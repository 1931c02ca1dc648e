/**
 * Colourisation pairs in CIELAB, as in the colourisation literature (Zhang et al. 2016, Isola et
 * al. 2017): the input is the photo's lightness L*, the target its chroma a*b*. Predicting only
 * chroma leaves the lightness, and so every edge of the photo, to the input; and distances in a*b*
 * are roughly perceptual, so the L1 loss weighs colour errors as people see them.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_CHROMA_SCALE, labToRgb, normalizedLightness, rgbToLab } from '../../nets/cielab.ts';
import { rgbColorizer } from '../../nets/lab-layers.ts';
import type { PairMaker } from './pair-maker.ts';

/** Photo → (lightness L* / 50 − 1, chroma a*b* / chromaScale clipped to [-1, 1]). */
export function colorizePairs(chromaScale = DEFAULT_CHROMA_SCALE): PairMaker {
  return {
    name: 'colorize',
    description: `Grey or colour photo → colour photo with the input's lightness (pix2pix U-Net predicting CIELAB a*b* from L*, trained on Debian-packaged photos)`,
    inputChannels: 1,
    targetChannels: 2,
    chromaTarget: true,
    makePair: (photos) =>
      tf.tidy(() => {
        const chroma = tf.slice(rgbToLab(photos), [0, 0, 0, 1], [-1, -1, -1, 2]);
        return { input: normalizedLightness(photos), target: tf.clipByValue(tf.div(chroma, chromaScale), -1, 1) as tf.Tensor4D };
      }),
    inputAsRgb: (lightness) =>
      tf.tidy(() => {
        const [count, height, width] = lightness.shape;
        return labToRgb(lightness, tf.zeros([count, height, width, 2]), chromaScale);
      }),
    outputAsRgb: (lightness, chroma) => labToRgb(lightness, chroma, chromaScale),
    servingModel: (generator, chromaGain = 1) => rgbColorizer(generator, chromaScale * chromaGain, 'colorize'),
  };
}
