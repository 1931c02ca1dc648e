/** The demo page at `/`: static files from server/public, plain HTML/JS with no build step. */
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import type { AppDeps } from '../deps.ts';

export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export function demoRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.use(express.static(PUBLIC_DIR, { index: 'index.html' }));
  return router;
}
