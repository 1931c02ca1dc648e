/** `npm run data -- photo2anime | colorize | independent`: data sets built from Debian packages. */
import { join } from 'node:path';
import { integerFlag, onlyPositional, type ParsedArgs, UsageError } from './args.ts';

/** `data colorize`: builds data/colorize from Debian packages. */
async function colorizeDataCommand({ flags }: ParsedArgs): Promise<number> {
  const { buildColorize } = await import('../data/colorize.ts');
  const { debianPackageFetcher, NoDebianToolsError } = await import('../data/debian-packages.ts');
  const outDir = flags.get('out') ?? join('data', 'colorize');
  try {
    const record = await buildColorize({
      outDir,
      maxSide: integerFlag(flags, 'max-side', 64),
      testMaxSide: integerFlag(flags, 'test-max-side', 64),
      fetchPackage: debianPackageFetcher(flags.get('cache') ?? join('data', '.debs')),
      log: (line) => console.log(`[data] ${line}`),
    });
    const balance = (split: 'train' | 'test') =>
      Object.entries(record.balance[split])
        .map(([tag, n]) => `${tag} ${n}`)
        .join(', ');
    console.log(
      `[data] ${outDir}: train ${record.photos.train} photos in ${record.counts.train} files (${balance('train')}); test ${record.photos.test} (${balance('test')})`,
    );
    return 0;
  } catch (error) {
    if (error instanceof NoDebianToolsError)
      throw new UsageError('this host has no apt-get/dpkg-deb: build data/colorize on a Debian host and copy it here');
    throw error;
  }
}

/** `data independent`: builds data/independent, photos for evaluation only, from Debian packages. */
async function independentDataCommand({ flags }: ParsedArgs): Promise<number> {
  const { buildIndependent } = await import('../data/independent.ts');
  const { debianPackageFetcher, NoDebianToolsError } = await import('../data/debian-packages.ts');
  const outDir = flags.get('out') ?? join('data', 'independent');
  try {
    const record = await buildIndependent({
      outDir,
      maxSide: integerFlag(flags, 'max-side', 64),
      fetchPackage: debianPackageFetcher(flags.get('cache') ?? join('data', '.debs')),
      log: (line) => console.log(`[data] ${line}`),
    });
    const balance = Object.entries(record.balance)
      .map(([tag, n]) => `${tag} ${n}`)
      .join(', ');
    console.log(`[data] ${outDir}: ${record.count} photos in test/ (${balance}); for evaluation only, never for training or tuning`);
    return 0;
  } catch (error) {
    if (error instanceof NoDebianToolsError)
      throw new UsageError('this host has no apt-get/dpkg-deb: build data/independent on a Debian host and copy it here');
    throw error;
  }
}

/** `data photo2anime`: builds data/photo2anime from Debian packages, or from two folders. */
export async function dataCommand(args: ParsedArgs): Promise<number> {
  const dataset = onlyPositional(args, 'dataset');
  if (dataset === 'colorize') return colorizeDataCommand(args);
  if (dataset === 'independent') return independentDataCommand(args);
  if (dataset !== 'photo2anime')
    throw new UsageError(
      `unknown dataset "${dataset ?? ''}"; known: photo2anime, colorize, independent (MNIST ships inside the mnist package)`,
    );
  const { flags } = args;
  const { buildPhoto2Anime } = await import('../data/photo2anime.ts');
  const { debianPackageFetcher, NoDebianToolsError } = await import('../data/debian-packages.ts');
  const outDir = flags.get('out') ?? join('data', 'photo2anime');
  try {
    const sources = await buildPhoto2Anime({
      outDir,
      maxSide: integerFlag(flags, 'max-side', 16),
      fetchPackage: debianPackageFetcher(flags.get('cache') ?? join('data', '.debs')),
      dataA: flags.get('dataA'),
      dataB: flags.get('dataB'),
      log: (line) => console.log(`[data] ${line}`),
    });
    console.log(
      `[data] ${outDir}: ${Object.entries(sources.counts)
        .map(([split, n]) => `${split} ${n}`)
        .join(', ')}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof NoDebianToolsError) throw new UsageError(error.message);
    throw error;
  }
}
