/** Runs an image-to-image model folder on one image through onnxruntime, as the server would. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { cropTopLeft, fromTensor, type ImageToImageManifest, parseManifest, reflectPad, toTensor } from '../../server/shared.ts';
import type { RgbImage } from '../data/image-folder.ts';

/** An image-to-image model folder run through onnxruntime as the server would. */
export async function loadTranslator(
  modelDir: string,
): Promise<{ manifest: ImageToImageManifest; translate(image: RgbImage): Promise<RgbImage>; release(): Promise<void> }> {
  const manifest = parseManifest(JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')));
  if (manifest.task !== 'image-to-image')
    throw new Error(`${modelDir}: the photo eval needs an image-to-image model, this one is ${manifest.task}`);
  const session = await ort.InferenceSession.create(join(modelDir, manifest.onnx));
  const { input, output } = manifest;
  return {
    manifest,
    async translate(image) {
      if (Math.max(image.width, image.height) > input.maxSide)
        throw new Error(`${image.name} is larger than the model's maxSide ${input.maxSide}`);
      const padded = reflectPad({ ...image, channels: 3 }, input.multipleOf);
      const tensor = toTensor(padded, input.layout, input.range, input.channels);
      const result = await session.run({ [input.name]: new ort.Tensor('float32', tensor.data, tensor.dims) });
      const produced = result[output.name];
      if (!produced) throw new Error(`model output "${output.name}" missing`);
      const pixels = fromTensor({ data: produced.data as Float32Array, dims: [...produced.dims] }, output.layout, output.range);
      const cropped = cropTopLeft(pixels, image.width, image.height);
      return { name: image.name, width: cropped.width, height: cropped.height, data: cropped.data };
    },
    release: () => session.release(),
  };
}
