// Read the weights out of an ONNX model (`wsss import-weights --from model.onnx`).
//
// Exporters do not keep parameter names reliably: torch.onnx folds BatchNorm into the preceding
// Conv and names the results 'onnx::Conv_538', keeping real names only for tensors it leaves
// alone ('classifier.1.weight'). So tensors are recovered from the nodes that use them:
// a Conv's weight and bias, a Gemm's B and C, a BatchNormalization's four tensors, each named
// after the node's module path. The path comes from the initializer's own name when it is a
// parameter name, else from the node's scope name ('/layer1/layer1.0/conv1/Conv' →
// 'layer1.0.conv1'), else from the node's position among its kind (the k-th Conv of the file is
// the k-th conv of the reference network). A conv bias where the network has a batch norm
// instead means the batch norm was folded; the importer turns it back into a batch norm.

import p from 'onnx-proto';
import type { NamedTensor, ParamValues } from '../graphs/module.ts';
import { numel } from '../graphs/module.ts';
import { halfToFloat } from '../graphs/safetensors.ts';

const { onnx } = p;

export interface OnnxWeights {
  /** Tensors under the names they were recovered as (the file's naming scheme). */
  tensors: ParamValues;
  /** How names were recovered, one line per rule that applied (for the report). */
  notes: string[];
}

/** Module paths of the reference network's convs and batch norms in forward order (positional fallback). */
export interface ReferenceOrder {
  convs: string[];
  batchNorms: string[];
}

const PARAM_NAME = /^[A-Za-z_][\w]*(\.[\w]+)+$/;
const PARAM_SUFFIX = /\.(weight|bias|running_mean|running_var)$/;

/** Float values of an initializer (float32, float16, float64), or null for other element types. */
function floatValues(t: p.onnx.ITensorProto, source: string): Float32Array | null {
  const D = onnx.TensorProto.DataType;
  const name = t.name ?? '?';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    throw new Error(`${source}: initializer '${name}' keeps its data in an external file, which import-weights does not read; re-save the model with all tensors inside it`);
  const n = numel((t.dims ?? []).map(Number));
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  const check = (got: number) => {
    if (got !== n) throw new Error(`${source}: initializer '${name}' holds ${got} values for shape [${(t.dims ?? []).join(', ')}]`);
  };
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  switch (t.dataType) {
    case D.FLOAT: {
      if (view) {
        check(raw!.byteLength / 4);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
        return out;
      }
      check(t.floatData?.length ?? 0);
      return Float32Array.from(t.floatData ?? []);
    }
    case D.FLOAT16: {
      const out = new Float32Array(n);
      if (view) {
        check(raw!.byteLength / 2);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      } else {
        check(t.int32Data?.length ?? 0);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(t.int32Data![i]);
      }
      return out;
    }
    case D.DOUBLE: {
      if (view) {
        check(raw!.byteLength / 8);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
        return out;
      }
      check(t.doubleData?.length ?? 0);
      return Float32Array.from(t.doubleData ?? []);
    }
    default:
      return null;
  }
}

/**
 * The module path in a torch.onnx scope name. Each '/'-separated segment is either a child
 * name ('conv1') or extends the previous segment ('layer1' → 'layer1.0'):
 * '/features/features.1/conv/conv.0/conv.0.0/Conv' → 'features.1.conv.0.0'.
 */
export function modulePathFromScope(nodeName: string): string | null {
  const segs = nodeName.split('/').filter(Boolean);
  if (segs.length < 2) return null;
  segs.pop(); // the op itself ('Conv', 'Gemm_3')
  let path = '';
  let last = '';
  for (const s of segs) {
    if (last && s.startsWith(`${last}.`)) path += s.slice(last.length);
    else path = path ? `${path}.${s}` : s;
    last = s;
  }
  return path || null;
}

function transpose2d(t: NamedTensor): NamedTensor {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

/** Recover named weights from ONNX model bytes. `source` names the file in errors. */
export function readOnnxWeights(bytes: Uint8Array, source: string, reference?: ReferenceOrder): OnnxWeights {
  let model: p.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not a readable ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node?.length) throw new Error(`${source}: the ONNX model has no graph`);
  const inits = new Map<string, NamedTensor>();
  for (const t of graph.initializer ?? []) {
    const data = floatValues(t, source);
    if (data && t.name) inits.set(t.name, { shape: (t.dims ?? []).map(Number), data });
  }

  const tensors: ParamValues = new Map();
  const used = new Set<string>();
  const rules = new Map<string, number>();
  const counts = { Conv: 0, BatchNormalization: 0 };
  const put = (name: string, t: NamedTensor, from: string) => {
    if (tensors.has(name)) throw new Error(`${source}: two tensors recovered as '${name}' (the second from initializer '${from}')`);
    tensors.set(name, t);
    used.add(from);
  };
  const pathOf = (node: p.onnx.INodeProto, initName: string, kind: 'Conv' | 'BatchNormalization' | 'Gemm'): string | null => {
    if (PARAM_NAME.test(initName) && PARAM_SUFFIX.test(initName)) {
      rules.set('parameter names kept in the file', (rules.get('parameter names kept in the file') ?? 0) + 1);
      return initName.replace(PARAM_SUFFIX, '');
    }
    const scoped = modulePathFromScope(node.name ?? '');
    if (scoped) {
      rules.set('names from node scopes', (rules.get('names from node scopes') ?? 0) + 1);
      return scoped;
    }
    if (kind !== 'Gemm' && reference) {
      const list = kind === 'Conv' ? reference.convs : reference.batchNorms;
      const k = counts[kind];
      if (k < list.length) {
        rules.set('names by position', (rules.get('names by position') ?? 0) + 1);
        return list[k];
      }
    }
    return null;
  };

  for (const node of graph.node) {
    const op = node.opType ?? '';
    const ins = node.input ?? [];
    if (op === 'Conv') {
      const w = inits.get(ins[1]);
      if (w) {
        const path = pathOf(node, ins[1], 'Conv');
        if (!path) throw new Error(`${source}: cannot tell which layer Conv node '${node.name}' belongs to`);
        put(`${path}.weight`, w, ins[1]);
        const b = ins[2] ? inits.get(ins[2]) : undefined;
        if (b) put(`${path}.bias`, b, ins[2]);
      }
      counts.Conv++;
    } else if (op === 'BatchNormalization') {
      const ts = ins.slice(1, 5).map((n) => inits.get(n));
      if (ts.every(Boolean)) {
        const path = pathOf(node, ins[1], 'BatchNormalization');
        if (!path) throw new Error(`${source}: cannot tell which layer BatchNormalization node '${node.name}' belongs to`);
        ['weight', 'bias', 'running_mean', 'running_var'].forEach((f, i) => put(`${path}.${f}`, ts[i]!, ins[i + 1]));
      }
      counts.BatchNormalization++;
    } else if (op === 'Gemm') {
      const b = inits.get(ins[1]);
      if (b && b.shape.length === 2) {
        const path = pathOf(node, ins[1], 'Gemm');
        if (!path) throw new Error(`${source}: cannot tell which layer Gemm node '${node.name}' belongs to`);
        const transB = node.attribute?.find((a) => a.name === 'transB')?.i;
        // Our Linear weights are [out, in] (PyTorch); Gemm without transB holds [in, out].
        put(`${path}.weight`, Number(transB ?? 0) ? b : transpose2d(b), ins[1]);
        const c = ins[2] ? inits.get(ins[2]) : undefined;
        if (c) put(`${path}.bias`, c, ins[2]);
      }
    }
  }
  // Parameter-named initializers used elsewhere (e.g. a Linear exported as Transpose + MatMul).
  for (const [name, t] of inits) {
    if (used.has(name) || !PARAM_NAME.test(name) || !PARAM_SUFFIX.test(name) || tensors.has(name)) continue;
    tensors.set(name, t);
    rules.set('parameter names kept in the file', (rules.get('parameter names kept in the file') ?? 0) + 1);
  }
  const notes = [...rules].map(([rule, n]) => `${n} tensor group(s): ${rule}`);
  return { tensors, notes };
}
