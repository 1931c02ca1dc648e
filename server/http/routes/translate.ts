/**
 * POST /v1/models/{name}/translate: image in, translated image out, same size as the (oriented,
 * possibly scaled-down) input. Upload and query checks live here; the pixels go through
 * pipeline/translate.ts (decode → tensor → worker → tensor → encode), shared with the batch CLI.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { OUTPUT_FORMATS } from '../../imaging/encode.ts';
import { translateImage } from '../../pipeline/translate.ts';
import { problems } from '../problem.ts';
import { disconnectSignal, serverTiming } from '../request-life.ts';
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

export function translateRoutes({ config, repository, pool, metrics }: AppDeps): Router {
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
      // The pool key names this version's sessions: a reload meanwhile does not move this request.
      const translated = await translateImage(req.image!, { name: model.poolKey, manifest: model.manifest }, pool, {
        format: query.format,
        quality: query.quality,
        maxSide: query.max_side,
        maxPixels: config.maxInputPixels,
        signal: disconnectSignal(res),
      });
      metrics.encodeDuration.observe({ model: model.name }, translated.timings.encode / 1000);
      res.status(200).type(translated.contentType).setHeader('X-Image-Size', `${translated.width}x${translated.height}`);
      res.setHeader('Server-Timing', serverTiming(translated.timings));
      res.send(translated.body);
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
