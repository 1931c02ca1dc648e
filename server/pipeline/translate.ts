/**
 * The translate pipeline outside HTTP: image bytes → decode → (fit inside a fixed-size graph's
 * size) → reflect-pad → worker (pixels → tensor → onnxruntime → pixels) → crop → (scale back) →
 * encode. The translate endpoint and the batch CLI run exactly this, so a file converted in bulk
 * has the same pixels as one sent to the server.
 */
import { decodeImage, type RgbImage } from '../imaging/decode.ts';
import { encodeImage, type EncodedImage, type OutputFormat } from '../imaging/encode.ts';
import type { Codec } from '../imaging/jpeg.ts';
import { fitInside, resizeTo } from '../imaging/resize.ts';
import { cropTopLeft, reflectPad, reflectPadTo, type HwcImage } from '../imaging/tensor.ts';
import type { ImageInference } from '../inference/contract.ts';
import type { ImageToImageManifest } from '../models/manifest.ts';
import { lapTimer } from '../observability/laps.ts';

/** The model to run: its name in the pool and its validated manifest. */
export interface TranslateModel {
  name: string;
  manifest: ImageToImageManifest;
}

export interface TranslateOptions {
  format: OutputFormat;
  /** 1–100 (see encodeImage). */
  quality?: number;
  /** Can only lower the manifest's maxSide. */
  maxSide?: number;
  /** Largest accepted input, in pixels, checked from the header before decoding. */
  maxPixels: number;
  /** Aborting drops the request while it still waits for a worker. */
  signal?: AbortSignal;
}

export interface TranslatedImage {
  body: Buffer;
  contentType: string;
  /** Size of the output (the input after EXIF orientation and scaling down). */
  width: number;
  height: number;
  /** Where the time went, in milliseconds, in pipeline order (the Server-Timing header). */
  timings: TranslateTimings;
  /** onnxruntime's intra-op threads for this run: more when the request ran alone (see the pool's soloThreads). */
  inferenceThreads: number;
  /** The libraries that decoded the upload and encoded the answer. */
  codecs: { decode: Codec; encode: EncodedImage['encoder'] };
}

export interface TranslateTimings {
  decode: number;
  /** Reflect-pad, and pixels → tensor in the worker. */
  preprocess: number;
  /** Waiting for a free worker. */
  queue: number;
  /** onnxruntime's session.run in the worker. */
  inference: number;
  /** Tensor → pixels in the worker, and crop. */
  postprocess: number;
  encode: number;
}

/**
 * Translates one image. Bad input throws the decoder's errors (UnsupportedImageError: not an image; UnprocessableImageError:
 * corrupt or too many pixels); a model that returns an unusable tensor throws the pool's
 * InferenceError, or a plain Error when its output has the wrong size.
 */
export async function translateImage(
  bytes: Buffer,
  model: TranslateModel,
  inference: ImageInference,
  options: TranslateOptions,
): Promise<TranslatedImage> {
  const { input, output } = model.manifest;
  const maxSide = Math.min(input.maxSide, options.maxSide ?? Infinity);
  const timings: TranslateTimings = { decode: 0, preprocess: 0, queue: 0, inference: 0, postprocess: 0, encode: 0 };
  let inferenceThreads = 0;
  const lap = lapTimer();
  // Until this image reaches the pool, a run that starts alone must not take every core (see
  // ImageInference.incoming).
  const arrived = inference.incoming();
  // A plain JPEG is decoded into one of the pool's shelved buffers, which goes back to the shelf
  // as soon as translate has copied it: no megabyte allocation per request (see BufferShelf).
  let borrowed: ArrayBuffer | undefined;
  const giveBack = () => {
    if (borrowed) inference.recycle(borrowed);
    borrowed = undefined;
  };
  let image: RgbImage;
  let fitted: HwcImage;
  let padded: HwcImage;
  try {
    image = await decodeImage(bytes, { maxPixels: options.maxPixels, maxSide }, (size) => (borrowed = inference.pixelBuffer(size)));
    timings.decode = lap();
    const decoded: HwcImage = { width: image.width, height: image.height, channels: 3, data: image.rgb };
    // A fixed-size graph gets the image fitted inside its size; any other is fed the image as it is.
    fitted = decoded;
    if (input.size) {
      const box = fitInside(image.width, image.height, input.size);
      fitted = await resizeTo(decoded, box.width, box.height);
      padded = reflectPadTo(fitted, input.size.width, input.size.height);
    } else {
      padded = reflectPad(decoded, input.multipleOf);
    }
    timings.preprocess = lap();
  } catch (err) {
    giveBack();
    throw err;
  } finally {
    arrived();
  }

  const translated = inference.translate(
    model.name,
    padded,
    {
      input: { name: input.name, layout: input.layout, range: input.range, channels: input.channels },
      output: { name: output.name, layout: output.layout, range: output.range },
    },
    {
      signal: options.signal,
      onTiming: ({ queueMs, runMs, threads, toTensorMs, fromTensorMs }) => {
        inferenceThreads = threads;
        timings.preprocess += toTensorMs;
        timings.queue = queueMs;
        timings.inference = runMs;
        timings.postprocess = fromTensorMs;
      },
    },
  );
  giveBack(); // translate has copied the pixels
  const pixels = await translated;
  lap();
  if (pixels.width !== padded.width || pixels.height !== padded.height) {
    throw new Error(`model "${model.name}" returned ${pixels.width}×${pixels.height} for a ${padded.width}×${padded.height} input`);
  }
  const cropped = await resizeTo(cropTopLeft(pixels, fitted.width, fitted.height), image.width, image.height);
  timings.postprocess += lap();
  const encoded = await encodeImage(
    { width: image.width, height: image.height, rgb: cropped.data, alpha: image.alpha },
    { format: options.format, quality: options.quality },
  );
  timings.encode = lap();
  inference.recycle(pixels.data.buffer);
  return {
    body: encoded.body,
    contentType: encoded.contentType,
    width: image.width,
    height: image.height,
    timings,
    inferenceThreads,
    codecs: { decode: image.decoder, encode: encoded.encoder },
  };
}
