import { describe, expect, it } from 'vitest';
import { ScratchFloats } from '../../server/inference/buffers.ts';

describe('ScratchFloats', () => {
  it('hands out views of exactly the length asked for on one buffer that only grows', () => {
    const scratch = new ScratchFloats();
    const first = scratch.take(1000);
    expect(first.length).toBe(1000);
    first.fill(7);
    const smaller = scratch.take(10);
    expect(smaller.length).toBe(10);
    expect(smaller.buffer).toBe(first.buffer); // reused, old contents still there
    expect(smaller[0]).toBe(7);
    const larger = scratch.take(2000);
    expect(larger.length).toBe(2000);
    expect(larger.buffer).not.toBe(first.buffer);
    expect(scratch.byteLength).toBe(8000);
    expect(scratch.take(1500).buffer).toBe(larger.buffer);
  });
});
