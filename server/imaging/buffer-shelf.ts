/**
 * Image-sized buffers kept for the next image instead of left to the garbage collector.
 *
 * A request handles a few buffers of a megabyte or so (decoded pixels, the pixels sent to an
 * inference worker and back, an encoder's output). Allocating them fresh costs twice:
 * - a page fault per 4 KiB at the first write (about a millisecond per 512² request in all);
 * - V8 counts ArrayBuffer memory when it decides to collect, so a thread allocating ≈ 1.8 MB
 *   per request started a major GC every 7–9 requests: 11–15 per 100 requests on the event loop,
 *   each adding 6–11 ms to the request it fell in. With the pixel buffers and the JPEG encoder's
 *   output buffer reused, it was 0–2 per 100.
 */
export class BufferShelf {
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
