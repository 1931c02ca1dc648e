import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferencePool } from '../../server/inference/pool.ts';
import { ModelRepository, warmupFeeds, type SessionLoader } from '../../server/models/repository.ts';
import { exactLabelGenerator } from '../helpers/generator-models.ts';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const good = () => colourMixModel('NCHW', rotateAndInvert([-1, 1]));
let dir: string;

beforeAll(() => {
  dir = tempModelsDir();
  writeModel(dir, 'good', imageManifest('good'), good());
  writeModel(dir, 'broken-json', '{ "name": "broken-json", ');
  writeModel(
    dir,
    'bad-schema',
    { ...imageManifest('bad-schema'), input: { name: 'input', layout: 'NCWH', channels: 3, range: [0, 2] } },
    good(),
  );
  writeModel(dir, 'wrong-name', imageManifest('other-name'), good());
  writeModel(dir, 'no-onnx', imageManifest('no-onnx'));
  writeModel(dir, 'corrupt-onnx', imageManifest('corrupt-onnx'), Buffer.from('this is not a protobuf at all \x00\x01\x02'));
  writeModel(dir, 'escape', { ...imageManifest('escape'), onnx: '../good/model.onnx' });
  writeModel(dir, 'wrong-tensor', { ...imageManifest('wrong-tensor'), input: { ...imageManifest('x').input, name: 'pixels' } }, good());
  // a symlink that leads out of the folder
  mkdirSync(path.join(dir, 'linked'));
  writeFileSync(path.join(dir, 'linked', 'model.json'), JSON.stringify({ ...imageManifest('linked'), onnx: 'model.onnx' }));
  symlinkSync(path.join(dir, 'good', 'model.onnx'), path.join(dir, 'linked', 'model.onnx'));
  mkdirSync(path.join(dir, 'not-a-model')); // no model.json: ignored
});

describe('ModelRepository.scan', () => {
  it('checks each manifest on its own and gives reasons', async () => {
    const repository = await ModelRepository.scan(dir, 'cpu');
    const byName = Object.fromEntries(repository.list().map((m) => [m.name, m]));
    expect(Object.keys(byName).sort()).toEqual([
      'bad-schema',
      'broken-json',
      'corrupt-onnx',
      'escape',
      'good',
      'linked',
      'no-onnx',
      'wrong-name',
      'wrong-tensor',
    ]);
    expect(byName.good!.status).toBe('loading');
    expect(byName['broken-json']!.reason).toMatch(/not valid JSON/);
    expect(byName['bad-schema']!.reason).toMatch(/input\.layout/);
    expect(byName['bad-schema']!.reason).toMatch(/input\.range/);
    expect(byName['wrong-name']!.reason).toMatch(/"other-name" does not match its folder "wrong-name"/);
    expect(byName['no-onnx']!.reason).toMatch(/does not exist/);
    expect(byName.escape!.reason).toMatch(/inside the model folder/);
    expect(byName.linked!.reason).toMatch(/links outside/);
    expect(repository.isReady()).toBe(false);
  });

  it('loads image-to-image models with a solo session for lone requests, generators without', async () => {
    const models = tempModelsDir();
    writeModel(models, 'photo', imageManifest('photo'), good());
    const generator = exactLabelGenerator({ name: 'digits' });
    writeModel(models, 'digits', generator.manifest, generator.onnx);
    const pool = new InferencePool({ workers: 1, threadsPerWorker: 1, soloThreads: 2, device: 'cpu', queueLimit: 4 });
    const asked: Record<string, boolean | undefined> = {};
    const loader: SessionLoader = {
      loadModel: (model, onnxPath, options) => {
        asked[model] = options?.solo;
        return pool.loadModel(model, onnxPath, options);
      },
      warmup: (model, feeds) => pool.warmup(model, feeds),
    };
    const repository = await ModelRepository.scan(models, 'cpu');
    await repository.loadAll(loader);
    await pool.close();
    expect(repository.list().map((m) => m.status)).toEqual(['ready', 'ready']);
    expect(asked).toEqual({ digits: false, photo: true });
  });

  it('a missing MODELS_DIR is an empty, ready repository', async () => {
    const repository = await ModelRepository.scan(path.join(dir, 'does-not-exist'), 'cpu');
    expect([repository.list().length, repository.isReady()]).toEqual([0, true]);
  });

  it('warm-up feeds follow the manifest layout, multiple and inputs', () => {
    const nhwc = warmupFeeds({
      ...imageManifest('w', { layout: 'NHWC', multipleOf: 8 }),
      input: { ...imageManifest('w', { layout: 'NHWC', multipleOf: 8 }).input, warmupSide: 30 },
    });
    expect(nhwc!.input!.dims).toEqual([1, 32, 32, 3]);
    expect(warmupFeeds(imageManifest('w'))).toBeNull();
  });
});

describe('a models folder with broken models beside a good one', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dir);
  });
  afterAll(() => server?.close());

  it('serves the good model and lists the bad ones as unavailable with their reasons', async () => {
    expect((await request(server.url).get('/readyz')).status).toBe(200);
    const res = await request(server.url).get('/v1/models');
    expect(res.status).toBe(200);
    const models = Object.fromEntries(
      (res.body.models as Array<{ name: string; status: string; reason?: string; provider: string }>).map((m) => [m.name, m]),
    );
    expect(models.good).toMatchObject({ status: 'ready', provider: 'cpu', task: 'image-to-image', endpoint: '/v1/models/good/translate' });
    expect(models['corrupt-onnx']).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/could not be loaded/) });
    expect(models['wrong-tensor']).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(/lacks input "pixels".*inputs \[input\]/),
    });
    for (const name of ['broken-json', 'bad-schema', 'wrong-name', 'no-onnx', 'escape', 'linked'])
      expect(models[name]!.status).toBe('unavailable');

    const one = await request(server.url).get('/v1/models/corrupt-onnx');
    expect(one.body).toMatchObject({ name: 'corrupt-onnx', status: 'unavailable' });

    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const refused = await request(server.url).post('/v1/models/corrupt-onnx/translate').set('Content-Type', 'image/png').send(png);
    expect([refused.status, refused.headers['content-type']]).toEqual([503, 'application/problem+json; charset=utf-8']);
    expect(JSON.parse(refused.text).detail).toMatch(/unavailable/);
    const served = await request(server.url).post('/v1/models/good/translate').set('Content-Type', 'image/png').send(png);
    expect(served.status).toBe(200);
  });
});
