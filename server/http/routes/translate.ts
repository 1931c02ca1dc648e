/**
 * POST /v1/models/{name}/translate: image in, translated image out, same size as the (oriented,
 * possibly scaled-down) input. The path reads as the pipeline: upload → decode → tensor → worker
 * → tensor → encode.
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { decodeImage } from '../../imaging/decode.ts';
import { encodeImage, OUTPUT_FORMATS } from '../../imaging/encode.ts';
import { cropTopLeft, fromTensor, reflectPad, toTensor } from '../../imaging/tensor.ts';
import { problems } from '../problem.ts';
import { imageUpload } from '../upload.ts';
import { servableModel } from './models.ts';

const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const TranslateQuery = z.strictObject({
  format: z.enum(OUTPUT_FORMATS).default('png'),
  quality: intParam(1, 100).optional(),
  max_side: intParam(1, 16384).optional(),
});

/** Aborts when the client goes away, so a request still queued for a worker is dropped. */
function disconnectSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}

export function translateRoutes({ config, repository, pool }: AppDeps): Router {
  const router = Router();
  const upload = imageUpload(config.maxBodyBytes);

  router.post(
    '/v1/models/:name/translate',
    (req, _res, next) => {
      // Refuse cheaply (unknown model, wrong task, bad query) before reading the body.
      servableModel(repository, String(req.params.name), 'image-to-image');
      parseQuery(req.query);
      next();
    },
    upload,
    async (req, res) => {
      const model = servableModel(repository, String(req.params.name), 'image-to-image');
      const query = parseQuery(req.query);
      const { input, output } = model.manifest;
      const maxSide = Math.min(input.maxSide, query.max_side ?? Infinity);

      const image = await decodeImage(req.image!, { maxPixels: config.maxInputPixels, maxSide });
      const padded = reflectPad({ width: image.width, height: image.height, channels: 3, data: image.rgb }, input.multipleOf);
      const tensor = toTensor(padded, input.layout, input.range, input.channels);

      const outputs = await pool.run(
        model.name,
        { [input.name]: { type: 'float32', data: tensor.data, dims: tensor.dims } },
        { outputs: [output.name], signal: disconnectSignal(res) },
      );
      // A tensor that is not an image of the input's size is the model's fault: 500, logged.
      const pixels = fromTensor(outputs[output.name]!, output.layout, output.range);
      if (pixels.width !== padded.width || pixels.height !== padded.height) {
        throw new Error(`model "${model.name}" returned ${pixels.width}×${pixels.height} for a ${padded.width}×${padded.height} input`);
      }
      const cropped = cropTopLeft(pixels, image.width, image.height);
      const encoded = await encodeImage(
        { width: image.width, height: image.height, rgb: cropped.data, alpha: image.alpha },
        { format: query.format, quality: query.quality },
      );
      res.status(200).type(encoded.contentType).setHeader('X-Image-Size', `${image.width}x${image.height}`);
      res.send(encoded.body);
    },
  );
  return router;
}

function parseQuery(query: unknown): z.infer<typeof TranslateQuery> {
  const parsed = TranslateQuery.safeParse(query);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    throw problems.badRequest(`invalid query: ${detail}`);
  }
  return parsed.data;
}
