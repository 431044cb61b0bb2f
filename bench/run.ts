// `npm run bench -- NAME [options]`: runs bench/NAME.ts. Benchmarks read their own options from
// process.argv (`--runs 60` …) and end their output with one line holding a JSON object.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const name = process.argv[2];
if (!name || name.startsWith('-') || !existsSync(join(dir, `${name}.ts`))) {
  console.error(`${name ? `no benchmark '${name}'` : 'which benchmark?'}; usage: npm run bench -- NAME [options]; available: ${available.join(', ')}`);
  process.exit(2);
}
// --help: a benchmark's usage is the comment block it opens with.
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  const lines = readFileSync(join(dir, `${name}.ts`), 'utf8').split('\n');
  const end = lines.findIndex((l) => !l.startsWith('//'));
  console.log(lines.slice(0, end === -1 ? lines.length : end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
await import(pathToFileURL(join(dir, `${name}.ts`)).href);
