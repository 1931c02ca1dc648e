/**
 * The committed models/colorize under its contract, through the real server: a grey JPEG in gives
 * a colour PNG of the same size with the input's lightness; and the batch CLI converts a folder. Skipped until the model is trained and
 * copied into models/colorize (its recipe's smoke test, tests/training/pix2pix.test.ts, checks the
 * same contract on a tiny model).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rgbToLab } from '../../training/eval/color-transfer.ts';
import { runCli } from '../scripts/batch-harness.ts';
import { startTestServer, type TestServer } from './harness.ts';

const MODEL_DIR = 'models/colorize';
const trained = existsSync(join(MODEL_DIR, 'model.onnx'));

/** A 300×200 grey scene: a bright gradient sky over darker, textured ground. */
async function greyScene(): Promise<Buffer> {
  const [width, height] = [300, 200];
  const data = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = y < 90 ? 230 - y : 90 + ((x * 7 + y * 13) % 40);
  }
  return sharp(data, { raw: { width, height, channels: 1 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function rgb(bytes: Buffer): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

describe.skipIf(!trained)('models/colorize through the server', () => {
  let root: string;
  let server: TestServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'colorize-model-'));
    await cp(MODEL_DIR, join(root, 'colorize'), { recursive: true });
    server = await startTestServer(root);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('is listed as an image-to-image model', async () => {
    const list = await request(server.server).get('/v1/models').expect(200);
    expect(list.body.models).toEqual([expect.objectContaining({ name: 'colorize', status: 'ready', task: 'image-to-image' })]);
  });

  it('turns a grey JPEG into a colour PNG of the same size with the same lightness', async () => {
    const jpeg = await greyScene();
    const res = await request(server.server)
      .post('/v1/models/colorize/translate?format=png')
      .set('Content-Type', 'image/jpeg')
      .send(jpeg)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('image/png');
    const [input, output] = await Promise.all([rgb(jpeg), rgb(res.body as Buffer)]);
    expect([output.width, output.height, output.channels]).toEqual([300, 200, 3]);
    const [before, after] = [rgbToLab({ name: 'in', ...input }), rgbToLab({ name: 'out', ...output })];
    const pixels = 300 * 200;
    let lightnessDifference = 0;
    let chroma = 0;
    for (let p = 0; p < pixels; p++) {
      lightnessDifference += Math.abs(after[p * 3]! - before[p * 3]!);
      chroma += Math.hypot(after[p * 3 + 1]!, after[p * 3 + 2]!);
    }
    // Out-of-gamut colours are clipped, which alone may move L*: a mean, not a maximum.
    expect(lightnessDifference / pixels).toBeLessThan(1);
    expect(chroma / pixels).toBeGreaterThan(1);
  });

  it('converts a folder of grey photos with the batch CLI', async () => {
    const input = join(root, 'batch-in');
    const output = join(root, 'batch-out');
    await mkdir(input, { recursive: true });
    await writeFile(join(input, 'old.jpg'), await greyScene());
    const run = await runCli(['translate', '--model', 'colorize', '--input', input, '--output', output], {
      MODELS_DIR: root,
      INFERENCE_WORKERS: '1',
      INFERENCE_THREADS: '1',
    });
    expect(run.code, run.stderr).toBe(0);
    const converted = await rgb(await sharp(join(output, 'old.png')).toBuffer());
    expect([converted.width, converted.height, converted.channels]).toEqual([300, 200, 3]);
    const lab = rgbToLab({ name: 'out', ...converted });
    let chroma = 0;
    for (let p = 0; p < 300 * 200; p++) chroma += Math.hypot(lab[p * 3 + 1]!, lab[p * 3 + 2]!);
    expect(chroma / (300 * 200)).toBeGreaterThan(1);
  }, 60_000);
});
