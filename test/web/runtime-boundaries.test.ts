// runtime/ stands alone (ARCHITECTURE.md): it never imports tfjs, graphs/, train/ or export/, and
// only runtime/node may use Node APIs or sharp, so runtime/ bundles small for the browser.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/** Module specifiers of static imports/exports and dynamic import() calls. */
function specifiers(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of src.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

test('runtime/ imports no tfjs, graphs/, train/ or export/; only runtime/node uses node APIs and sharp', () => {
  const problems: string[] = [];
  // The scanner sees imports at all (so an empty problem list means something).
  assert.deepEqual(specifiers("import sharp, { type Metadata } from 'sharp';\nexport { a } from '../graphs/x.ts';\nconst x = await import('node:fs');"), ['sharp', '../graphs/x.ts', 'node:fs']);
  assert.ok(specifiers(readFileSync(join('runtime', 'segment.ts'), 'utf8')).includes('./postprocess.ts'));
  for (const file of tsFiles('runtime')) {
    const rel = relative('runtime', file);
    const isNode = rel.startsWith(`node${sep}`);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (/^@tensorflow\//.test(spec)) problems.push(`${file}: imports ${spec}`);
      if (/^(\.\.\/)+(graphs|train|export|cli)\//.test(spec)) problems.push(`${file}: imports ${spec}`);
      if (!isNode && (spec.startsWith('node:') || spec === 'sharp' || spec === 'onnxruntime-node')) problems.push(`${file}: imports ${spec} outside runtime/node`);
      if (!isNode && !rel.startsWith(`web${sep}`) && spec === 'onnxruntime-web') problems.push(`${file}: imports ${spec}; the caller passes the ort module`);
    }
  }
  assert.deepEqual(problems, []);
});
