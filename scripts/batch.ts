/**
 * `npm run batch -- translate|generate ...`: bulk conversion with the server's inference core,
 * in-process or across servers. See scripts/batch/main.ts and `npm run batch -- --help`.
 */
import { main } from './batch/main.ts';

process.exitCode = await main(process.argv.slice(2));
