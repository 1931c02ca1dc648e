/**
 * Which methods a known path takes, read from the OpenAPI document (which a test keeps in step
 * with the mounted routes), so a wrong method on a real path is a 405 with `Allow` rather than a
 * 404 that suggests the path does not exist.
 */
import { OPENAPI_DOCUMENT } from './openapi.ts';

const OPERATIONS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const ROUTES = Object.entries(OPENAPI_DOCUMENT.paths).map(([template, item]) => {
  const methods = Object.keys(item)
    .filter((key) => OPERATIONS.has(key))
    .map((key) => key.toUpperCase());
  // Express answers HEAD wherever it answers GET.
  if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  const segments = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { pattern: new RegExp(`^${segments.join('[^/]+')}/?$`), methods: methods.sort() };
});

/** The methods the API takes at `path`, or null when no route has that path. */
export function allowedMethods(path: string): string[] | null {
  return ROUTES.find((route) => route.pattern.test(path))?.methods ?? null;
}
