// `npm run golden [-- DIR]`: run every golden-vector file in DIR (default ../shared/reference/vectors;
// a relative DIR is taken from where npm was started). Exit status 1 if any vector fails, including
// one of a module with no adapter that is not on the pending list, or if DIR holds no vector.
// The last line is the JSON summary {"passed":N,"failed":N,"pending":[...]}.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runGoldenDir } from './harness.ts';

const dir = process.argv[2] ? resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2]) : resolve('../shared/reference/vectors');
if (!existsSync(dir)) {
  console.error(`golden: ${dir} does not exist`);
  process.exit(2);
}
const { summary } = await runGoldenDir(dir, (l) => console.log(l));
const empty = summary.passed + summary.failed + summary.pending.length === 0;
if (empty) console.error(`golden: ${dir} holds no golden-vector (.json) file`);
console.log(JSON.stringify(summary));
process.exit(summary.failed || empty ? 1 : 0);
