/**
 * One growing scratch buffer per inference worker for image input tensors. A fresh
 * multi-megabyte ArrayBuffer costs a page fault per 4 KiB on first write, which was a third of
 * the to-tensor time at 512² and more at 1024²; writing each image into the same, already mapped
 * memory avoids that. A worker runs one image at a time, and onnxruntime keeps no reference to an
 * input after its run, so one buffer is enough. It only grows, up to the largest input seen
 * (bounded by the manifests' maxSide).
 */
export class ScratchFloats {
  private buffer = new ArrayBuffer(0);

  /** A view of `length` floats on the scratch buffer (old contents); earlier views share it. */
  take(length: number): Float32Array {
    const bytes = length * Float32Array.BYTES_PER_ELEMENT;
    if (this.buffer.byteLength < bytes) this.buffer = new ArrayBuffer(bytes);
    return new Float32Array(this.buffer, 0, length);
  }

  /** Bytes held, for tests. */
  get byteLength(): number {
    return this.buffer.byteLength;
  }
}
