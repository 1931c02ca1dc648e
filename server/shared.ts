/**
 * What the training module and the scripts may use of the server: the model-folder contract
 * (manifest schema) and the pure helpers both sides must agree on, so that a model is fed in
 * training and in evaluation exactly as the server feeds it (noise, tokenizer, pixel mappings,
 * grids, codecs). training/ imports server/ only through this module; scripts/ also through
 * server/embedding.ts. dependency-cruiser (.dependency-cruiser.cjs) enforces both.
 */
export { availableCores } from './cores.ts';
export { imageSeed, MAX_SEED, noiseBatch, seededGenerator } from './generation/noise.ts';
export { encodeRaw } from './generation/render.ts';
export { tokenize, Vocabulary, words } from './generation/tokenizer.ts';
export { decodeImage, sniffFormat } from './imaging/decode.ts';
export { OUTPUT_FORMATS, type OutputFormat } from './imaging/encode.ts';
export { composeGrid, type RawImage, upscaleNearest } from './imaging/grid.ts';
export { cropTopLeft, type FloatTensor, fromTensor, type HwcImage, reflectPad, toTensor } from './imaging/tensor.ts';
export {
  type ConditionalGenerationManifest,
  type ImageToImageManifest,
  type Manifest,
  type PixelRange,
  parseManifest,
} from './models/manifest.ts';
