/** The endpoint each task serves under /v1/models/{name}/. */
import type { Manifest } from '../models/manifest.ts';

export const TASK_ENDPOINTS: Record<Manifest['task'], string> = {
  'image-to-image': 'translate',
  'conditional-generation': 'generate',
};
