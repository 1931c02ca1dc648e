/**
 * POST /v1/models/{name}/translate: image in, translated image out, same size as the (oriented,
 * possibly scaled-down) input. Upload and query checks live here; the pixels go through
 * pipeline/translate.ts (decode → tensor → worker → tensor → encode), shared with the batch CLI.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.ts';
import { CONTENT_TYPES, OUTPUT_FORMATS, type OutputFormat } from '../../imaging/encode.ts';
import { servableModel } from '../../models/servable.ts';
import { translateImage } from '../../pipeline/translate.ts';
import { problems } from '../problem.ts';
import { disconnectSignal, serverTiming } from '../request-life.ts';
import { imageUpload } from '../upload.ts';

const intParam = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

export const TranslateQuery = z.strictObject({
  /** Absent: chosen from the Accept header (see negotiatedFormat). */
  format: z.enum(OUTPUT_FORMATS).optional(),
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
      res.vary('Accept');
      const translated = await translateImage(req.image!, { name: model.poolKey, manifest: model.manifest }, pool, {
        format: query.format ?? negotiatedFormat(req),
        quality: query.quality,
        maxSide: query.max_side,
        maxPixels: config.maxInputPixels,
        signal: disconnectSignal(res),
      });
      metrics.encodeDuration.observe({ model: model.name }, translated.timings.encode / 1000);
      res.status(200).type(translated.contentType).setHeader('X-Image-Size', `${translated.width}x${translated.height}`);
      const threads = translated.inferenceThreads;
      const { decode, encode } = translated.codecs;
      res.setHeader(
        'Server-Timing',
        serverTiming(translated.timings, { decode, inference: `${threads} thread${threads === 1 ? '' : 's'}`, encode }),
      );
      res.send(translated.body);
    },
  );
  return router;
}

/**
 * The output format when the query names none: the client's preferred image type among png, jpeg
 * and webp by its Accept header, png when it states none or takes any type. An Accept that admits
 * none of them is ignored rather than refused: some HTTP clients send `application/json` by
 * default, and they still want the image.
 */
function negotiatedFormat(req: Request): OutputFormat {
  const type = req.accepts(OUTPUT_FORMATS.map((format) => CONTENT_TYPES[format]));
  return OUTPUT_FORMATS.find((format) => CONTENT_TYPES[format] === type) ?? 'png';
}

function parseQuery(query: unknown): z.infer<typeof TranslateQuery> {
  const parsed = TranslateQuery.safeParse(query);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    throw problems.badRequest(`invalid query: ${detail}`);
  }
  return parsed.data;
}
