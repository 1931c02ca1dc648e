/**
 * digits-text from training to serving:
 * - tokenizer parity: a "token echo" model (its image is the token row it was fed) served by the
 *   real server shows that the server's prompt → tokens path gives exactly the ids the training
 *   caption → tokens path gives, for training captions and held-out prompts alike;
 * - a few-step run of the recipe exports model.json + model.onnx + vocab.json, and the server's
 *   generate endpoint draws a prompt with it, pixel for pixel what onnxruntime gives on the
 *   training-side tokens.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noiseBatch } from '../../server/generation/noise.ts';
import { parseManifest } from '../../server/models/manifest.ts';
import { selectBackend } from '../../training/backend/select.ts';
import { caption, captionTokens, captionVocabulary, type DigitStyle, HELD_OUT_TEMPLATES } from '../../training/data/captions.ts';
import { seededRandom } from '../../training/data/random.ts';
import { OnnxGraph } from '../../training/export/onnx-graph.ts';
import { train } from '../../training/harness.ts';
import { digitsTextRecipe } from '../../training/recipes/digits-text.ts';
import type { Recipe } from '../../training/recipes/recipe.ts';
import { writeModelFolder } from '../helpers/generator-models.ts';
import { startTestServer, type TestServer } from '../server/harness.ts';

const MAX_TOKENS = 12;
const vocabulary = captionVocabulary({ fillerWords: digitsTextRecipe.options.fillerWords });

let root: string;
let modelsDir: string;
let server: TestServer | undefined;

/** An ONNX model whose 1×maxTokens "image" is its token ids (noise is multiplied away). */
function tokenEchoModel(): { manifest: Record<string, unknown> & { name: string }; onnx: Uint8Array } {
  const g = new OnnxGraph('token-echo');
  g.input('noise', 'float', ['N', 1]);
  g.input('text', 'int64', ['N', MAX_TOKENS]);
  const ids = g.op('Cast', ['text'], { to: 1 });
  const silenced = g.op('Mul', ['noise', g.initializer('zero', [0], [])]);
  g.op('Reshape', [g.op('Add', [ids, silenced]), g.int64s('shape', [-1, 1, 1, MAX_TOKENS])], {}, 'image');
  g.output('image', 'float', ['N', 1, 1, MAX_TOKENS]);
  return {
    manifest: {
      name: 'token-echo',
      task: 'conditional-generation',
      onnx: 'model.onnx',
      noise: { name: 'noise', dim: 1, distribution: 'normal' },
      text: { name: 'text', maxTokens: MAX_TOKENS, vocab: 'vocab.json' },
      output: { name: 'image', layout: 'NCHW', range: [0, 255], channels: 1, width: MAX_TOKENS, height: 1 },
    },
    onnx: g.toBytes(),
  };
}

async function pixels(body: Buffer): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(body).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function binary(req: request.Test): request.Test {
  return req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
}

beforeAll(async () => {
  await selectBackend('wasm-ort', { log: () => {} });
  root = await mkdtemp(join(tmpdir(), 'digits-text-'));
  modelsDir = join(root, 'models');
  const echo = tokenEchoModel();
  await writeModelFolder(modelsDir, echo.manifest, echo.onnx, { 'vocab.json': vocabulary.toJson() });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('digits-text training → serving', () => {
  it('trains a few steps and exports model.json, model.onnx and vocab.json', async () => {
    const result = await train({
      recipe: digitsTextRecipe as unknown as Recipe,
      outDir: join(root, 'run'),
      steps: 2,
      batchSize: 8,
      recipeOptions: { subset: 64, generatorWidth: 8, discriminatorWidth: 8 },
      progress: 'silent',
      backend: 'wasm-ort',
    });
    for (const model of Object.values(result.models)) model.dispose();
    expect(result.step).toBe(2);
    for (const value of Object.values(result.lastLosses)) expect(Number.isFinite(value)).toBe(true);
    const manifest = parseManifest(JSON.parse(await readFile(join(result.exportDir!, 'model.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'digits-text',
      task: 'conditional-generation',
      noise: { name: 'noise', dim: 64, distribution: 'normal' },
      text: { name: 'text', maxTokens: MAX_TOKENS, vocab: 'vocab.json' },
      output: { name: 'image', layout: 'NHWC', range: [-1, 1], channels: 1, width: 28, height: 28 },
      provenance: { recipe: 'digits-text', steps: 2 },
    });
    expect(JSON.parse(await readFile(join(result.exportDir!, 'vocab.json'), 'utf8'))).toEqual(vocabulary.words);
    await cp(result.exportDir!, join(modelsDir, 'digits-text'), { recursive: true });
    server = await startTestServer(modelsDir);
  }, 120_000);

  it('tokenizes prompts in the server exactly as training tokenizes captions', async () => {
    const random = seededRandom(9);
    const prompts = ['A BOLD, slanted 3!', 'draw me an upright seven please', 'three, thin'];
    for (let i = 0; i < 12; i++) {
      const style: DigitStyle = { label: i % 10, weight: i % 3 === 0 ? 'thick' : 'thin', slant: i % 2 === 0 ? 'slanted' : null };
      prompts.push(caption(style, random), caption(style, random, { templates: HELD_OUT_TEMPLATES }));
    }
    for (const prompt of prompts) {
      const res = await binary(request(server!.server).post('/v1/models/token-echo/generate').send({ prompt, seed: 1 }));
      expect(res.status, prompt).toBe(200);
      const image = await pixels(res.body);
      expect([image.width, image.height]).toEqual([MAX_TOKENS, 1]);
      expect([...image.data], prompt).toEqual([...captionTokens([prompt], vocabulary, MAX_TOKENS)]);
    }
  });

  it('serves the exported model: a prompt gives the image onnxruntime draws from the training-side tokens', async () => {
    const prompt = 'could you sketch some bold italic 4';
    const res = await binary(request(server!.server).post('/v1/models/digits-text/generate').send({ prompt, seed: 5 }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['x-ignored-words']).toBe(['could', 'you', 'sketch', 'some'].join(','));
    const served = await pixels(res.body);
    expect([served.width, served.height]).toEqual([28, 28]);

    const session = await ort.InferenceSession.create(join(modelsDir, 'digits-text', 'model.onnx'));
    const out = await session.run({
      noise: new ort.Tensor('float32', noiseBatch(5, 1, 64, 'normal'), [1, 64]),
      text: new ort.Tensor(
        'int64',
        BigInt64Array.from(captionTokens([prompt], vocabulary, MAX_TOKENS), (v) => BigInt(v)),
        [1, MAX_TOKENS],
      ),
    });
    await session.release();
    const expected = Array.from(out.image!.data as Float32Array, (v) => Math.min(255, Math.max(0, Math.round(((v + 1) / 2) * 255))));
    expect(Math.max(...expected.map((v, i) => Math.abs(v - served.data[i]!)))).toBeLessThanOrEqual(1);
  });
});
