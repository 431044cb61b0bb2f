// `npm run golden -- DIR`: run every golden-vector file in DIR (default ../shared/reference/vectors).
// Exit status 1 if any implemented module fails. The last line is the JSON summary.
import { resolve } from 'node:path';
import { runGoldenDir } from './harness.ts';

const dir = resolve(process.argv[2] ?? '../shared/reference/vectors');
const { summary } = await runGoldenDir(dir, (l) => console.log(l));
console.log(JSON.stringify(summary));
process.exit(summary.failed ? 1 : 0);
