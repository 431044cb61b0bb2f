// The golden vectors of ../shared/reference/vectors: every implemented module must pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runGoldenDir } from './golden/harness.ts';

const dir = new URL('../../shared/reference/vectors', import.meta.url).pathname;

test('golden vectors: every implemented module matches the reference code', { skip: !existsSync(dir) && 'no ../shared' }, async () => {
  const lines: string[] = [];
  const { results, summary } = await runGoldenDir(dir, (l) => lines.push(l));
  console.log(lines.join('\n'));
  console.log(JSON.stringify(summary));
  const failed = results.filter((r) => r.status === 'fail');
  assert.deepEqual(failed.map((r) => `${r.file}: ${r.message}`), []);
});
