/**
 * Writes an exported model as a folder the server loads as is: model.json, the ONNX file, and
 * extra files such as a text model's vocab.json, under RUN_DIR/export/<name>/.
 *
 * The manifest is checked before anything is written: against the serving schema, and against
 * the ONNX graph itself (every tensor name it mentions exists, image channels sit where the
 * declared layout puts them, every file it references is written). The folder appears at once:
 * everything goes to a temporary sibling folder that is renamed into place, so a server scanning
 * the parent never sees half a model.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { type Manifest, parseManifest } from '../../server/shared.ts';

export interface ModelFolderContents {
  /** The model.json content. `onnx` defaults to "model.onnx"; `provenance.date` to now. */
  manifest: Record<string, unknown>;
  onnx: Uint8Array;
  /** Extra files by name (plain names inside the folder), e.g. { 'vocab.json': '...' }. */
  files?: Record<string, string | Uint8Array>;
}

const PLAIN_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Writes RUN_DIR/export/<manifest.name>/ (replacing an earlier export) and returns its path. */
export async function writeModelFolder(runDir: string, contents: ModelFolderContents): Promise<string> {
  const json = withDefaults(contents.manifest);
  const manifest = parseManifest(json);
  const files = contents.files ?? {};
  checkFiles(manifest, files);
  checkAgainstGraph(manifest, contents.onnx);

  const parent = join(runDir, 'export');
  const target = join(parent, manifest.name);
  const staging = join(parent, `.${manifest.name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(join(staging, manifest.onnx), contents.onnx);
    for (const [name, data] of Object.entries(files)) await writeFile(join(staging, name), data);
    await writeFile(join(staging, 'model.json'), `${JSON.stringify(json, null, 2)}\n`);
    const previous = `${staging}.previous`;
    const hadPrevious = await rename(target, previous).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    await rename(staging, target);
    if (hadPrevious) await rm(previous, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return target;
}

/** The model.json as written: `onnx` defaults to model.onnx, a provenance gets today's date. */
function withDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const json: Record<string, unknown> = { ...raw, onnx: raw.onnx ?? 'model.onnx' };
  const provenance = raw.provenance as Record<string, unknown> | undefined;
  if (provenance !== undefined && typeof provenance === 'object')
    json.provenance = { ...provenance, date: provenance.date ?? new Date().toISOString() };
  return json;
}

function checkFiles(manifest: Manifest, files: Record<string, string | Uint8Array>): void {
  for (const name of Object.keys(files)) {
    if (!PLAIN_FILE_NAME.test(name)) throw new Error(`extra file "${name}": use a plain file name inside the model folder`);
    if (name === 'model.json' || name === manifest.onnx) throw new Error(`extra file "${name}" would overwrite the model itself`);
  }
  if (!PLAIN_FILE_NAME.test(manifest.onnx)) throw new Error(`onnx "${manifest.onnx}": use a plain file name inside the model folder`);
  if (manifest.task === 'conditional-generation' && manifest.text && !(manifest.text.vocab in files)) {
    throw new Error(`model.json names vocab "${manifest.text.vocab}" but no such file is written`);
  }
}

interface GraphTensor {
  dims: (number | string)[];
}

/** Checks that the tensors the manifest names exist in the ONNX graph, with channels where the layout says. */
function checkAgainstGraph(manifest: Manifest, onnx: Uint8Array): void {
  const model = onnxProto.onnx.ModelProto.decode(onnx);
  const describe = (values: onnxProto.onnx.IValueInfoProto[] | null | undefined) =>
    new Map<string, GraphTensor>(
      (values ?? []).map((v) => [
        v.name ?? '',
        { dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))) },
      ]),
    );
  const inputs = describe(model.graph?.input);
  const outputs = describe(model.graph?.output);
  const need = (kind: 'input' | 'output', name: string): GraphTensor => {
    const tensor = (kind === 'input' ? inputs : outputs).get(name);
    if (!tensor)
      throw new Error(
        `model.json names ${kind} "${name}", but the ONNX graph's ${kind}s are: ${[...(kind === 'input' ? inputs : outputs).keys()].join(', ')}`,
      );
    return tensor;
  };
  const checkImage = (kind: 'input' | 'output', name: string, layout: 'NCHW' | 'NHWC', channels: number | undefined) => {
    const tensor = need(kind, name);
    if (tensor.dims.length !== 4 || channels === undefined) return;
    const declared = tensor.dims[layout === 'NCHW' ? 1 : 3];
    if (typeof declared === 'number' && declared !== channels) {
      throw new Error(`${kind} "${name}": ${layout} puts ${channels} channels at a dimension of size ${declared} in the ONNX graph`);
    }
  };
  if (manifest.task === 'image-to-image') {
    checkImage('input', manifest.input.name, manifest.input.layout, manifest.input.channels);
    checkImage('output', manifest.output.name, manifest.output.layout, manifest.output.channels);
  } else {
    need('input', manifest.noise.name);
    if (manifest.label) need('input', manifest.label.name);
    if (manifest.text) need('input', manifest.text.name);
    checkImage('output', manifest.output.name, manifest.output.layout, manifest.output.channels);
  }
}
