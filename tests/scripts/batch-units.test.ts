/** The batch CLI's small pure parts: label specs, prompt folders, temp names, plain progress lines. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseBatchArgs, parseLabelSpec, UsageError } from '../../scripts/batch/args.ts';
import { isTempFile } from '../../scripts/batch/atomic-write.ts';
import { promptFolder, resolveLabel } from '../../scripts/batch/plan.ts';
import { createProgress, formatDuration } from '../../scripts/batch/progress.ts';

describe('batch argument parts', () => {
  it('expands label specs: ranges, lists, names, without duplicates', () => {
    expect(parseLabelSpec('0-9')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(parseLabelSpec('0-2,7, 1')).toEqual([0, 1, 2, 7]);
    expect(parseLabelSpec('cat,dog,t-shirt')).toEqual(['cat', 'dog', 't-shirt']);
    expect(() => parseLabelSpec('3-1')).toThrow(UsageError);
    expect(() => parseLabelSpec('1,,2')).toThrow(/empty entry/);
  });

  it('resolves labels by class name first, then by index', () => {
    expect(resolveLabel('dog', ['cat', 'dog'], 'm')).toBe(1);
    expect(resolveLabel(1, ['cat', 'dog'], 'm')).toBe(1);
    expect(() => resolveLabel(2, ['cat', 'dog'], 'm')).toThrow(/label 2 is out of range: model "m" has classes 0..1 \(cat, dog\)/);
    expect(() => resolveLabel('cow', ['cat', 'dog'], 'm')).toThrow(/unknown label "cow"/);
  });

  it('names a prompt folder after its words', () => {
    expect(promptFolder('A bold, slanted 7!')).toBe('a-bold-slanted-7');
    expect(promptFolder('!!!')).toBe('prompt');
    expect(promptFolder('word '.repeat(40)).length).toBeLessThanOrEqual(64);
  });

  it('parses a full translate command with repeated servers', () => {
    const parsed = parseBatchArgs([
      'translate',
      '--model',
      'm',
      '--input',
      'in',
      '--output',
      'out',
      '--server',
      'http://a:1/',
      '--server',
      'http://b:2',
      '--concurrency',
      '6',
      '--overwrite',
    ]);
    expect(parsed).toMatchObject({
      kind: 'command',
      command: { kind: 'translate', servers: ['http://a:1', 'http://b:2'], concurrency: 6, overwrite: true, format: 'png' },
    });
    expect(() => parseBatchArgs(['translate', '--model', 'm', '--input', 'in', '--output', 'in'])).toThrow(
      /--output must differ from --input/,
    );
    expect(() => parseBatchArgs(['generate', '--model', 'm', '--labels', '1', '--count', '2', '--output', 'o', '--seed', '-1'])).toThrow(
      UsageError,
    );
  });

  it('recognises only its own temp files', () => {
    expect(isTempFile('.photo.png.1234.0badc0de.batch-tmp')).toBe(true);
    expect(isTempFile('photo.png')).toBe(false);
    expect(isTempFile('.hidden.batch-tmp')).toBe(false);
  });
});

describe('batch progress', () => {
  it('prints plain periodic lines when not on a TTY', async () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const progress = createProgress(10, stream, 20);
    progress.update({ converted: 3, skipped: 2, failed: 1 });
    await new Promise((resolve) => setTimeout(resolve, 70));
    progress.stop();
    expect(text).toMatch(/^batch: 6\/10 files \(3 converted, 2 skipped, 1 failed\), [\d.]+ files\/s, ETA \S+$/m);
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(75)).toBe('1m15s');
  });
});
