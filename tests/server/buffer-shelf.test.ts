import { describe, expect, it } from 'vitest';
import { BufferShelf } from '../../server/imaging/buffer-shelf.ts';

describe('BufferShelf', () => {
  it('hands out the smallest kept buffer that fits, and a new one when none does', () => {
    const shelf = new BufferShelf(4, 1000);
    const [small, medium, large] = [new ArrayBuffer(10), new ArrayBuffer(50), new ArrayBuffer(100)];
    for (const buffer of [large, small, medium]) shelf.give(buffer);
    expect(shelf.take(40)).toBe(medium);
    expect(shelf.take(40)).toBe(large);
    const fresh = shelf.take(40);
    expect([fresh.byteLength, fresh === small]).toEqual([40, false]);
    expect(shelf.take(10)).toBe(small);
    expect(shelf.keptBytes).toBe(0);
  });

  it('when full, lets a larger buffer replace the smallest and drops a smaller one', () => {
    const shelf = new BufferShelf(2, 1000);
    const [a, b] = [new ArrayBuffer(20), new ArrayBuffer(30)];
    shelf.give(a);
    shelf.give(b);
    shelf.give(new ArrayBuffer(10));
    expect(shelf.keptBytes).toBe(50);
    const larger = new ArrayBuffer(40);
    shelf.give(larger);
    expect(shelf.keptBytes).toBe(70);
    expect(shelf.take(35)).toBe(larger);
    expect(shelf.take(25)).toBe(b);
  });

  it('keeps neither buffers over its size limit, nor detached ones, nor one twice', () => {
    const shelf = new BufferShelf(4, 100);
    shelf.give(new ArrayBuffer(101));
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    shelf.give(detached);
    const kept = new ArrayBuffer(16);
    shelf.give(kept);
    shelf.give(kept);
    expect(shelf.keptBytes).toBe(16);
  });
});
