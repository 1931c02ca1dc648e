import { describe, expect, it } from 'vitest';
import { BufferRecycler } from '../../server/inference/buffers.ts';

const MB = 1 << 20;

describe('BufferRecycler', () => {
  it('hands back a given buffer for a take of its size, and a fresh one otherwise', () => {
    const recycler = new BufferRecycler();
    const first = recycler.take(2 * MB);
    expect(first.byteLength).toBe(2 * MB);
    recycler.give(first);
    expect(recycler.take(3 * MB)).not.toBe(first);
    expect(recycler.take(2 * MB)).toBe(first);
    expect(recycler.take(2 * MB)).not.toBe(first);
  });

  it('keeps no small buffers, at most four of a size, and the eight sizes given most recently', () => {
    const recycler = new BufferRecycler();
    recycler.give(new ArrayBuffer(MB / 2));
    expect(recycler.held).toBe(0);
    for (let i = 0; i < 6; i++) recycler.give(new ArrayBuffer(MB));
    expect(recycler.held).toBe(4);
    for (let size = 2; size <= 9; size++) recycler.give(new ArrayBuffer(size * MB));
    // Nine sizes were given; the least recent (1 MB, four buffers) was dropped.
    expect(recycler.held).toBe(8);
    const fresh = recycler.take(MB);
    recycler.give(fresh);
    expect(recycler.take(MB)).toBe(fresh);
  });
});
