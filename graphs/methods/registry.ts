// Every method, by name. Adding a method adds its folder and one line here; the CLI
// (`wsss train`, `wsss export --run`, `wsss methods`) and the benchmark read this list.

import { camMethod } from './cam/index.ts';
import { deepLabMethod } from './deeplab/index.ts';
import { edamMethod } from './edam/index.ts';
import { gradcamMethod } from './gradcam/index.ts';
import type { MethodDef } from './method.ts';
import { oneStageMethod } from './onestage/index.ts';
import { pplMethod } from './ppl/index.ts';
import { vweMethod } from './vwe/index.ts';

const methods: MethodDef[] = [camMethod, deepLabMethod, edamMethod, gradcamMethod, oneStageMethod, pplMethod, vweMethod];

export function methodNames(): string[] {
  return methods.map((m) => m.name);
}

export function allMethods(): readonly MethodDef[] {
  return methods;
}

export function getMethod(name: string): MethodDef {
  const m = methods.find((d) => d.name === name);
  if (!m) throw new Error(`unknown method '${name}'; known methods: ${methodNames().join(', ')}`);
  return m;
}
