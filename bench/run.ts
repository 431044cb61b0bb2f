// `npm run bench -- NAME [options]`: runs bench/NAME.ts. Benchmarks read their own options from
// process.argv (`--runs 60` …) and end their output with one line holding a JSON object.
import { existsSync, readdirSync } from 'node:fs';
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
await import(pathToFileURL(join(dir, `${name}.ts`)).href);
