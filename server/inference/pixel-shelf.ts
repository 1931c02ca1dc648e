/**
 * Pixel buffers that go to an inference worker and come back, kept for the next image.
 *
 * Two costs hide in a translate's hand-over of pixels. Node 20 cannot transfer a buffer that
 * sharp allocated, and it copies one silently on both threads instead. A fresh buffer also pays
 * a page fault per 4 KiB on its first write. At 512² the two cost about a millisecond per request.
 * So the pool copies the decoded pixels into a shelved buffer and transfers that. The worker
 * writes the model's pixels back into the same buffer, and the caller shelves it again once the
 * answer is encoded.
 */
export class PixelShelf {
  private readonly buffers: ArrayBuffer[] = [];

  /**
   * @param capacity buffers kept at most (about the images in flight at once)
   * @param largestBytes buffers above this size are not kept, so one huge image does not pin
   *   its memory for good
   */
  constructor(
    private readonly capacity: number,
    private readonly largestBytes: number,
  ) {}

  /** A buffer of at least `bytes` bytes: the smallest kept one that fits, else a new one. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.buffers.length; i++) {
      const size = this.buffers[i]!.byteLength;
      if (size >= bytes && (best < 0 || size < this.buffers[best]!.byteLength)) best = i;
    }
    return best < 0 ? new ArrayBuffer(bytes) : this.buffers.splice(best, 1)[0]!;
  }

  /**
   * Keeps a buffer for a later take(). When the shelf is full, the smallest buffer makes room for
   * a larger one, so the shelf settles on the sizes that are asked for.
   */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || buffer.byteLength > this.largestBytes || this.buffers.includes(buffer)) return;
    if (this.buffers.length < this.capacity) {
      this.buffers.push(buffer);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.buffers.length; i++) if (this.buffers[i]!.byteLength < this.buffers[smallest]!.byteLength) smallest = i;
    if (this.buffers[smallest]!.byteLength < buffer.byteLength) this.buffers[smallest] = buffer;
  }

  /** Bytes kept, for tests. */
  get keptBytes(): number {
    return this.buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
  }
}
