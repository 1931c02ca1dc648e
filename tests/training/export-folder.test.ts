/**
 * writeModelFolder: validates the manifest against the serving schema and the ONNX graph,
 * writes model.json, the ONNX file and extra files into RUN_DIR/export/<name>/, and replaces an
 * earlier export whole.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseManifest } from '../../server/models/manifest.ts';
import { exportToOnnx } from '../../training/export/onnx.ts';
import { writeModelFolder } from '../../training/export/model-folder.ts';
import { useCpuBackend } from './export-harness.ts';

let runDir: string;
let generatorOnnx: Uint8Array;
let translatorOnnx: Uint8Array;

beforeAll(async () => {
  await useCpuBackend();
  const noise = tf.input({ shape: [4], name: 'noise' });
  const label = tf.input({ shape: [1], dtype: 'int32', name: 'label' });
  const embedded = tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 3, outputDim: 2 }).apply(label)) as tf.SymbolicTensor;
  const x = tf.layers.dense({ units: 4 * 4 }).apply(tf.layers.concatenate().apply([noise, embedded])) as tf.SymbolicTensor;
  const image = tf.layers
    .reshape({ targetShape: [4, 4, 1] })
    .apply(tf.layers.activation({ activation: 'tanh' }).apply(x)) as tf.SymbolicTensor;
  generatorOnnx = exportToOnnx(tf.model({ inputs: [noise, label], outputs: image }), { inputs: [{}, { shape: [] }], imageLayout: 'NCHW' });
  const input = tf.input({ shape: [null, null, 3] });
  const output = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(input) as tf.SymbolicTensor;
  translatorOnnx = exportToOnnx(tf.model({ inputs: input, outputs: output }), { inputs: [{ name: 'input' }], imageLayout: 'NCHW' });
});

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'export-folder-'));
});

afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

const generatorManifest = (extra: Record<string, unknown> = {}) => ({
  name: 'tiny-digits',
  task: 'conditional-generation',
  description: 'test generator',
  noise: { name: 'noise', dim: 4, distribution: 'normal' },
  label: { name: 'label', classes: ['a', 'b', 'c'] },
  output: { name: 'output', layout: 'NCHW', range: [-1, 1], channels: 1 },
  provenance: { recipe: 'test', steps: 3, dataset: 'none', eval: { fid: 1.5 } },
  ...extra,
});

const translatorManifest = (extra: Record<string, unknown> = {}) => ({
  name: 'tiny-photo',
  task: 'image-to-image',
  input: { name: 'input', layout: 'NCHW', channels: 3, range: [-1, 1], multipleOf: 4 },
  output: { name: 'output', layout: 'NCHW', range: [-1, 1] },
  ...extra,
});

describe('writeModelFolder', () => {
  it('writes a folder the server schema accepts and onnxruntime loads, with provenance and a date', async () => {
    const dir = await writeModelFolder(runDir, {
      manifest: generatorManifest({ text: { name: 'label', maxTokens: 1, vocab: 'vocab.json' } }),
      onnx: generatorOnnx,
      files: { 'vocab.json': '{"a":1}' },
    });
    expect(dir).toBe(join(runDir, 'export', 'tiny-digits'));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'model.onnx', 'vocab.json']);
    const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')));
    expect(manifest.onnx).toBe('model.onnx');
    expect(manifest.provenance).toMatchObject({ recipe: 'test', steps: 3, dataset: 'none', eval: { fid: 1.5 } });
    expect(Date.parse(manifest.provenance!.date!)).not.toBeNaN();
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    const result = await session.run({
      noise: new ort.Tensor('float32', new Float32Array(8), [2, 4]),
      label: new ort.Tensor('int64', BigInt64Array.from([0n, 2n]), [2]),
    });
    expect(result.output!.dims).toEqual([2, 1, 4, 4]);
    await session.release();
    expect(await readFile(join(dir, 'vocab.json'), 'utf8')).toBe('{"a":1}');
  });

  it('replaces an earlier export whole and leaves no temporary folders', async () => {
    await writeModelFolder(runDir, { manifest: translatorManifest(), onnx: translatorOnnx, files: { 'notes.txt': 'old' } });
    await writeModelFolder(runDir, { manifest: translatorManifest({ description: 'new' }), onnx: translatorOnnx });
    expect(await readdir(join(runDir, 'export'))).toEqual(['tiny-photo']);
    expect((await readdir(join(runDir, 'export', 'tiny-photo'))).sort()).toEqual(['model.json', 'model.onnx']);
    expect(JSON.parse(await readFile(join(runDir, 'export', 'tiny-photo', 'model.json'), 'utf8')).description).toBe('new');
  });

  it('rejects a manifest the server would reject, writing nothing', async () => {
    await expect(writeModelFolder(runDir, { manifest: translatorManifest({ name: 'Bad Name' }), onnx: translatorOnnx })).rejects.toThrow(
      /name/,
    );
    await expect(readdir(runDir)).resolves.toEqual([]);
  });

  it('rejects tensor names the graph lacks', async () => {
    const manifest = translatorManifest({ input: { name: 'image', layout: 'NCHW', channels: 3, range: [-1, 1] } });
    await expect(writeModelFolder(runDir, { manifest, onnx: translatorOnnx })).rejects.toThrow(/input "image".*input/);
    await expect(
      writeModelFolder(runDir, { manifest: generatorManifest({ label: { name: 'class', classes: ['a'] } }), onnx: generatorOnnx }),
    ).rejects.toThrow(/"class"/);
  });

  it('rejects a layout that puts the channels on the wrong axis', async () => {
    // The generator's output is NCHW [N, 1, 4, 4]: read as NHWC, its channel axis has size 4.
    const manifest = generatorManifest({ output: { name: 'output', layout: 'NHWC', range: [-1, 1], channels: 1 } });
    await expect(writeModelFolder(runDir, { manifest, onnx: generatorOnnx })).rejects.toThrow(
      /NHWC puts 1 channels at a dimension of size 4/,
    );
  });

  it('rejects a referenced vocab that is not written and unsafe extra file names', async () => {
    await expect(
      writeModelFolder(runDir, {
        manifest: generatorManifest({ text: { name: 'label', maxTokens: 1, vocab: 'vocab.json' } }),
        onnx: generatorOnnx,
      }),
    ).rejects.toThrow(/vocab/);
    await expect(
      writeModelFolder(runDir, { manifest: translatorManifest(), onnx: translatorOnnx, files: { '../x': 'y' } }),
    ).rejects.toThrow(/plain file name/);
    await expect(
      writeModelFolder(runDir, { manifest: translatorManifest(), onnx: translatorOnnx, files: { 'model.json': '{}' } }),
    ).rejects.toThrow(/overwrite/);
  });
});
