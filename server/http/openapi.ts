/**
 * The OpenAPI 3.1 description of every endpoint, served at /openapi.json and rendered by /docs.
 * tests/server/openapi.test.ts walks the mounted Express routes and fails when one is missing
 * here, so this document cannot silently drift from the server.
 */
const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const modelName = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'Model name (its folder under MODELS_DIR).',
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
};

const imageContent = {
  'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
  'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
  'image/webp': { schema: { type: 'string', contentMediaType: 'image/webp' } },
};

const generateParameters = [
  { name: 'label', in: 'query', description: 'Class index or class name.', schema: { type: 'string' } },
  { name: 'prompt', in: 'query', description: 'Text prompt (text-conditioned models only).', schema: { type: 'string', maxLength: 1000 } },
  { name: 'count', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 64, default: 1 } },
  {
    name: 'seed',
    in: 'query',
    description: 'uint32; image i uses seed + i. Given a seed, the response is cacheable (strong ETag).',
    schema: { type: 'integer', minimum: 0, maximum: 4294967295 },
  },
  { name: 'format', in: 'query', schema: { $ref: '#/components/schemas/ImageFormat' } },
  {
    name: 'scale',
    in: 'query',
    description: 'Nearest-neighbour upscaling.',
    schema: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
  },
];

const generateResponses = {
  '200': {
    description: 'One image (count 1), a row-major grid (count > 1), or JSON with `Accept: application/json`.',
    headers: {
      'X-Seed': { description: 'The seed used (random when none was given).', schema: { type: 'string' } },
      'X-Ignored-Words': {
        description: 'Percent-encoded prompt words not in the vocabulary, comma-separated.',
        schema: { type: 'string' },
      },
      ETag: { description: 'Strong ETag when a seed was given.', schema: { type: 'string' } },
      'Server-Timing': {
        description: 'Milliseconds queued (batching wait included), in onnxruntime (with the size of the batch it ran in) and encoding.',
        schema: { type: 'string', examples: ['queue;dur=1.3, inference;dur=4.2;desc="batch of 24", encode;dur=0.1'] },
      },
    },
    content: { ...imageContent, 'application/json': { schema: { $ref: '#/components/schemas/GeneratedImages' } } },
  },
  '400': problemResponse('Invalid conditioning, count, seed, format or scale; malformed JSON; wrong task for the model.'),
  '401': problemResponse('API keys are configured and the request has no valid `Authorization: Bearer` key.'),
  '404': problemResponse('Unknown model.'),
  '422': problemResponse('A prompt with no word in the vocabulary.'),
  '503': problemResponse('Model loading or unavailable, or its queue is full (see Retry-After).'),
};

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'ganserve',
    version: '1',
    description:
      'Image-to-image translation and conditional image generation with ONNX models. Errors are RFC 9457 `application/problem+json`.',
  },
  servers: [{ url: '/' }],
  security: [{}, { bearerKey: [] }],
  tags: [{ name: 'health' }, { name: 'models' }, { name: 'inference' }, { name: 'docs' }],
  paths: {
    '/healthz': {
      get: {
        tags: ['health'],
        summary: 'Liveness: 200 while the process lives',
        security: [{}],
        responses: {
          '200': {
            description: 'Alive',
            content: { 'application/json': { schema: { type: 'object', properties: { status: { const: 'ok' } } } } },
          },
        },
      },
    },
    '/readyz': {
      get: {
        tags: ['health'],
        summary: 'Readiness: 200 once every valid model is loaded',
        security: [{}],
        responses: {
          '200': { description: 'Ready', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
          '503': {
            description: 'Models still loading',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [{}],
        responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/v1/models': {
      get: {
        tags: ['models'],
        summary: 'List every model with its status, task, tensors and execution provider',
        responses: {
          '200': {
            description: 'The models',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['models'],
                  properties: { models: { type: 'array', items: { $ref: '#/components/schemas/Model' } } },
                },
              },
            },
          },
          '401': problemResponse('Missing or invalid API key.'),
        },
      },
    },
    '/v1/models/{name}': {
      get: {
        tags: ['models'],
        summary: 'One model',
        parameters: [modelName],
        responses: {
          '200': { description: 'The model', content: { 'application/json': { schema: { $ref: '#/components/schemas/Model' } } } },
          '401': problemResponse('Missing or invalid API key.'),
          '404': problemResponse('Unknown model.'),
        },
      },
    },
    '/v1/models/{name}/reload': {
      post: {
        tags: ['models'],
        summary: 'Reload a model from its folder, swapping it atomically',
        description:
          'In-flight requests finish on the old version; a broken new version leaves the old one serving and the response says why.',
        parameters: [modelName],
        responses: {
          '200': {
            description: 'Reloaded: the new version serves',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['reloaded', 'model'],
                  properties: { reloaded: { const: true }, model: { $ref: '#/components/schemas/Model' } },
                },
              },
            },
          },
          '401': problemResponse('Missing or invalid API key.'),
          '404': problemResponse('No model folder of that name with a model.json.'),
          '422': problemResponse('The new version is broken; the old one keeps serving (the problem has a `model` member with its state).'),
        },
      },
    },
    '/v1/models/{name}/translate': {
      post: {
        tags: ['inference'],
        summary: 'Translate an image (image-to-image models)',
        description:
          'Send multipart/form-data with one file field `image`, or the raw bytes with an `image/*` Content-Type. The output has the width × height of the input after EXIF orientation (after any `max_side` downscale).',
        parameters: [
          modelName,
          {
            name: 'format',
            in: 'query',
            description:
              'Output format. Without it, the Accept header chooses among image/png, image/jpeg and image/webp; png when it names none of them.',
            schema: { $ref: '#/components/schemas/ImageFormat' },
          },
          { name: 'quality', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
          {
            name: 'max_side',
            in: 'query',
            description: "Can only lower the manifest's maxSide.",
            schema: { type: 'integer', minimum: 1, maximum: 16384 },
          },
        ],
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['image'],
                properties: { image: { type: 'string', contentMediaType: 'application/octet-stream' } },
              },
            },
            'image/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
          },
        },
        responses: {
          '200': {
            description: 'The translated image',
            headers: {
              'X-Image-Size': { schema: { type: 'string', examples: ['640x480'] } },
              'Server-Timing': {
                description:
                  'Milliseconds per stage: decode, preprocess, queue, inference (onnxruntime alone), postprocess, encode. Decode and encode name their codec (libjpeg-turbo for plain JPEGs up to quality 90, else libvips; zlib for PNG answers); inference names its intra-op threads.',
                schema: {
                  type: 'string',
                  examples: [
                    'decode;dur=1.9;desc="libjpeg-turbo", preprocess;dur=0.9, queue;dur=0.0, inference;dur=230.4;desc="2 threads", postprocess;dur=1.7, encode;dur=1.5;desc="libjpeg-turbo"',
                  ],
                },
              },
            },
            content: imageContent,
          },
          '400': problemResponse('Missing image, bad query, or wrong task for the model.'),
          '401': problemResponse('Missing or invalid API key.'),
          '404': problemResponse('Unknown model.'),
          '413': problemResponse('Body over the size limit.'),
          '415': problemResponse('Not an image, or an unsupported format.'),
          '422': problemResponse('Corrupt or truncated image, or more pixels than the limit.'),
          '503': problemResponse('Model loading or unavailable, or its queue is full (see Retry-After).'),
        },
      },
    },
    '/v1/models/{name}/generate': {
      post: {
        tags: ['inference'],
        summary: 'Generate images (conditional-generation models)',
        parameters: [modelName],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/GenerateRequest' } } } },
        responses: generateResponses,
      },
      get: {
        tags: ['inference'],
        summary: 'Generate images, query form (usable as an <img src>)',
        parameters: [modelName, ...generateParameters],
        responses: generateResponses,
      },
    },
    '/openapi.json': {
      get: {
        tags: ['docs'],
        summary: 'This document',
        security: [{}],
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
      },
    },
    '/docs': {
      get: {
        tags: ['docs'],
        summary: 'Interactive API docs',
        security: [{}],
        responses: { '200': { description: 'HTML page', content: { 'text/html': {} } } },
      },
    },
    '/': {
      get: {
        tags: ['docs'],
        summary: 'Demo page',
        security: [{}],
        responses: { '200': { description: 'HTML page', content: { 'text/html': {} } } },
      },
    },
  },
  components: {
    securitySchemes: { bearerKey: { type: 'http', scheme: 'bearer', description: 'Only when API_KEYS is configured.' } },
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details.',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string', examples: ['urn:ganserve:problem:not-found'] },
          title: { type: 'string' },
          status: { type: 'integer', minimum: 400, maximum: 599 },
          detail: { type: 'string' },
          instance: { type: 'string' },
        },
        additionalProperties: true,
      },
      ImageFormat: { type: 'string', enum: ['png', 'jpeg', 'webp'], default: 'png' },
      Readiness: { type: 'object', properties: { ready: { type: 'boolean' }, loading: { type: 'array', items: { type: 'string' } } } },
      Model: {
        type: 'object',
        required: ['name', 'status'],
        properties: {
          name: { type: 'string' },
          task: { type: ['string', 'null'], enum: ['image-to-image', 'conditional-generation', null] },
          description: { type: 'string' },
          status: { type: 'string', enum: ['loading', 'ready', 'unavailable'] },
          reason: { type: 'string', description: 'Why the model is unavailable.' },
          provider: { type: ['string', 'null'], description: 'Execution provider in use (cpu, cuda, webgpu).' },
          endpoint: { type: 'string' },
          input: { type: 'object' },
          output: { type: 'object' },
          noise: { type: 'object' },
          label: { type: 'object', properties: { name: { type: 'string' }, classes: { type: 'array', items: { type: 'string' } } } },
          text: { type: 'object', properties: { name: { type: 'string' }, maxTokens: { type: 'integer' } } },
          batching: { type: 'object', properties: { maxBatch: { type: 'integer' }, maxWaitMs: { type: 'number' } } },
        },
        additionalProperties: true,
      },
      GenerateRequest: {
        type: 'object',
        description: 'Exactly one of label, labels or prompt.',
        properties: {
          label: { type: ['integer', 'string'], description: 'Class index or class name.' },
          labels: { type: 'array', items: { type: ['integer', 'string'] }, minItems: 1, maxItems: 64 },
          prompt: { type: 'string', maxLength: 1000 },
          count: { type: 'integer', minimum: 1, maximum: 64, default: 1 },
          seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
          format: { $ref: '#/components/schemas/ImageFormat' },
          scale: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
        },
        additionalProperties: false,
        examples: [{ label: 7, seed: 42, count: 16, scale: 4 }],
      },
      GeneratedImages: {
        type: 'object',
        properties: {
          images: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                label: { type: ['integer', 'string'] },
                seed: { type: 'integer' },
                mime: { type: 'string' },
                data: { type: 'string', contentEncoding: 'base64' },
              },
            },
          },
          ignoredWords: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;
