// fp16 conversion of an exported model: weights stored and ops computed in float16, graph
// inputs and outputs kept float32 (callers and the runtime feed and read float32, no flag
// needed), and a block list of op types that stay float32 with Casts at their boundaries.
//
// Why a block list: the ops that turn features into the final maps — Resize to the image size,
// ReduceMax + Div of the CAM normalisation, the global pooling of the scores — either sum many
// values (overflow and lost precision in fp16) or decide the labels directly; `bench precision`
// measures what blocking them costs and saves (README, "Edge deployment").

import { DT, dropUnusedInitializers, floatData, inferElemTypes, intAttr, makeNode, makeTensor, nameAllocator, outputElemType, type ModelProto, type NodeProto, type TensorProto } from './onnx-model.ts';
import { toFloat16Array } from './float16.ts';

/** Op types kept in float32 by default (see the header). */
export const DEFAULT_FP32_OPS = ['Resize', 'ReduceMax', 'ReduceMean', 'ReduceSum', 'GlobalAveragePool', 'Div', 'Softmax'];

/** Inputs (by op type) that are not the op's data type T and must keep their own type. */
const NON_T_INPUTS: Record<string, number[]> = {
  Resize: [1, 2, 3], // roi (T2), scales (float), sizes (int64)
};

export interface Fp16Options {
  /** Op types that run in float32. */
  fp32Ops?: readonly string[];
}

export interface Fp16Report {
  fp16Nodes: number;
  fp32Nodes: number;
  casts: number;
  fp32Ops: string[];
}

/** Converts `model` (decoded, float32) to fp16 in place. */
export function convertToFp16(model: ModelProto, options: Fp16Options = {}): Fp16Report {
  const g = model.graph!;
  const fp32Ops = new Set(options.fp32Ops ?? DEFAULT_FP32_OPS);
  const types = inferElemTypes(g);
  const inits = new Map<string, TensorProto>((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const newName = nameAllocator(g);
  const newInits: TensorProto[] = [];
  const out: NodeProto[] = [];
  // Cached conversions: value name → its float16 (or float32) twin.
  const asF16 = new Map<string, string>();
  const asF32 = new Map<string, string>();
  let casts = 0;
  let fp16Nodes = 0;

  const cast = (v: string, to: number): string => {
    const cache = to === DT.FLOAT16 ? asF16 : asF32;
    let name = cache.get(v);
    if (name) return name;
    name = newName(`${v}_${to === DT.FLOAT16 ? 'fp16' : 'fp32'}`);
    const init = inits.get(v);
    if (init && to === DT.FLOAT16 && init.dataType === DT.FLOAT) {
      newInits.push(makeTensor(name, DT.FLOAT16, (init.dims ?? []).map(Number), toFloat16Array(floatData(init))));
    } else {
      out.push(makeNode('Cast', [v], [name], newName(`Cast_${name}`), [intAttr('to', to)]));
      casts++;
    }
    types.set(name, to);
    cache.set(v, name);
    return name;
  };

  for (const node of g.node ?? []) {
    const half = !fp32Ops.has(node.opType ?? '') && node.opType !== 'Cast' && node.opType !== 'Constant' && node.opType !== 'ConstantOfShape';
    const keep = NON_T_INPUTS[node.opType ?? ''] ?? [];
    const inputs = node.input ?? [];
    let touchesFloat = false;
    node.input = inputs.map((v, i) => {
      if (!v) return v;
      const t = types.get(v);
      if (t !== DT.FLOAT && t !== DT.FLOAT16) return v;
      touchesFloat = true;
      const want = half && !keep.includes(i) ? DT.FLOAT16 : DT.FLOAT;
      return t === want ? v : cast(v, want);
    });
    if (half && touchesFloat) fp16Nodes++;
    out.push(node);
    // Output types follow from the (converted) inputs.
    const ot = outputElemType(node, types);
    for (const o of node.output ?? []) if (o) types.set(o, ot);
  }

  // Graph outputs stay float32: the node writing an fp16 output writes a renamed value instead,
  // and a Cast writes the output's own name.
  for (const o of g.output ?? []) {
    const name = o.name ?? '';
    if (types.get(name) !== DT.FLOAT16) continue;
    const renamed = newName(`${name}_fp16`);
    for (const n of out) {
      n.output = (n.output ?? []).map((x) => (x === name ? renamed : x));
      n.input = (n.input ?? []).map((x) => (x === name ? renamed : x));
    }
    out.push(makeNode('Cast', [renamed], [name], newName(`Cast_${name}`), [intAttr('to', DT.FLOAT)]));
    casts++;
  }

  g.node = out;
  g.initializer = [...(g.initializer ?? []), ...newInits];
  g.valueInfo = [];
  dropUnusedInitializers(g);
  return { fp16Nodes, fp32Nodes: out.length - fp16Nodes - casts, casts, fp32Ops: [...fp32Ops] };
}
