/**
 * Large tensor buffers kept for reuse: each inference worker writes the next image's input tensor
 * into the last one's buffer. A fresh multi-megabyte ArrayBuffer costs a page fault per 4 KiB on
 * first write, which was a third of the to-tensor time at 512² and more at 1024²; a reused one is
 * already mapped.
 */

/** Smaller buffers are cheap to allocate and not worth keeping. */
const MIN_BYTES = 1 << 20;
/** Spare buffers kept per size: enough for the requests of a few workers in flight. */
const PER_SIZE = 4;
/** Sizes remembered at once (image sizes vary; the least recently given size is dropped). */
const SIZES = 8;

export class BufferRecycler {
  private readonly spare = new Map<number, ArrayBuffer[]>();

  /** A spare buffer of exactly `byteLength` bytes (old contents), or a fresh zeroed one. */
  take(byteLength: number): ArrayBuffer {
    const list = this.spare.get(byteLength);
    const buffer = list?.pop();
    if (list && list.length === 0) this.spare.delete(byteLength);
    return buffer ?? new ArrayBuffer(byteLength);
  }

  /** Keeps a buffer that nothing else uses any more, for a later take() of its size. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength < MIN_BYTES) return;
    const list = this.spare.get(buffer.byteLength) ?? [];
    if (list.length >= PER_SIZE) return;
    list.push(buffer);
    // Re-inserting moves the size to the back: the first key is the least recently given.
    this.spare.delete(buffer.byteLength);
    this.spare.set(buffer.byteLength, list);
    if (this.spare.size > SIZES) this.spare.delete(this.spare.keys().next().value!);
  }

  /** Spare buffers held, for tests. */
  get held(): number {
    let count = 0;
    for (const list of this.spare.values()) count += list.length;
    return count;
  }
}
