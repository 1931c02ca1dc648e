/**
 * The request body → one image Buffer, held in memory only (no temp files). Two shapes are
 * accepted: multipart/form-data with one file field `image`, or the raw bytes with an `image/*`
 * (or application/octet-stream) Content-Type. The format itself is sniffed later by the decoder;
 * the declared types here only choose the parser.
 */
import express, { type RequestHandler } from 'express';
import multer from 'multer';
import { problems } from './problem.ts';

export const IMAGE_FIELD = 'image';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The uploaded image bytes, set by imageUpload(). */
      image?: Buffer;
    }
  }
}

function isRawImageType(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type.startsWith('image/') || type === 'application/octet-stream';
}

/** Middleware that sets `req.image` or fails with 400 / 413 / 415 problems. */
export function imageUpload(maxBodyBytes: number): RequestHandler {
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxBodyBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 32, headerPairs: 100 },
  }).single(IMAGE_FIELD);
  const raw = express.raw({ type: () => true, limit: maxBodyBytes });

  return (req, res, next) => {
    const contentType = req.headers['content-type'] ?? '';
    if (/^multipart\/form-data/i.test(contentType)) {
      multipart(req, res, (err?: unknown) => {
        if (err) return next(err);
        if (!req.file || req.file.size === 0) {
          return next(problems.missingImage(`the multipart body has no non-empty file field "${IMAGE_FIELD}"`));
        }
        req.image = req.file.buffer;
        next();
      });
      return;
    }
    if (contentType === '' || isRawImageType(contentType)) {
      raw(req, res, (err?: unknown) => {
        if (err) return next(err);
        const body: unknown = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) {
          return next(
            problems.missingImage(`send the image as multipart field "${IMAGE_FIELD}" or as the raw body with an image/* Content-Type`),
          );
        }
        if (contentType === '') {
          return next(problems.unsupportedMediaType('a raw image body needs an image/* Content-Type'));
        }
        req.image = body;
        next();
      });
      return;
    }
    next(problems.unsupportedMediaType(`Content-Type "${contentType}" is not accepted: use multipart/form-data or image/*`));
  };
}
