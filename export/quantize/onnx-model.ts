// Helpers shared by the precision passes (fp16, int8): decode/encode a model, read and make
// initializers, infer every value's element type, and rename values. The passes rewrite the
// decoded onnx-proto ModelProto in place; wsss graphs need no shape inference for that, only
// element types, which follow from a handful of rules per op.

import p from 'onnx-proto';

const { onnx } = p;
export type ModelProto = p.onnx.ModelProto;
export type GraphProto = p.onnx.IGraphProto;
export type NodeProto = p.onnx.INodeProto;
export type TensorProto = p.onnx.ITensorProto;

export const DT = onnx.TensorProto.DataType;

const toNum = (v: unknown): number => (typeof v === 'number' ? v : v == null ? 0 : Number(String(v)));

export function decodeModel(bytes: Uint8Array, source: string): ModelProto {
  try {
    const m = onnx.ModelProto.decode(bytes);
    if (!m.graph || !(m.graph.node ?? []).length) throw new Error('no graph with nodes');
    return m;
  } catch (e) {
    throw new Error(`${source}: not a readable ONNX model (${(e as Error).message})`);
  }
}

export function encodeModelProto(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

export function dims(t: TensorProto): number[] {
  return (t.dims ?? []).map(toNum);
}

/** Float32 values of a FLOAT initializer (raw or typed storage). */
export function floatData(t: TensorProto): Float32Array {
  if (t.dataType !== DT.FLOAT) throw new Error(`initializer '${t.name}' is not float32`);
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

export function makeTensor(name: string, dataType: number, shape: number[], data: Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims: shape, rawData: bytesOf(data) });
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: p.onnx.IAttributeProto[] = []): NodeProto {
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name, attribute: attrs });
}

export function intAttr(name: string, i: number): p.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

export function attrInt(node: NodeProto, name: string): number | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? toNum(a.i) : undefined;
}

/** Element type of every value in the graph (inputs, initializers, node outputs). */
export function inferElemTypes(g: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const i of g.input ?? []) types.set(i.name ?? '', i.type?.tensorType?.elemType ?? DT.FLOAT);
  for (const t of g.initializer ?? []) types.set(t.name ?? '', t.dataType ?? DT.FLOAT);
  for (const n of g.node ?? []) {
    const outs = n.output ?? [];
    const t = outputElemType(n, types);
    for (const o of outs) if (o) types.set(o, t);
  }
  return types;
}

/** The element type a node produces, given its inputs' types (all wsss ops have one output type). */
export function outputElemType(n: NodeProto, types: Map<string, number>): number {
  const first = (n.input ?? []).find((i) => i);
  const typeOf = (v: string | undefined) => (v ? (types.get(v) ?? DT.FLOAT) : DT.FLOAT);
  switch (n.opType) {
    case 'Shape':
    case 'Size':
    case 'NonZero':
    case 'ArgMax':
    case 'ArgMin':
      return DT.INT64;
    case 'Cast':
      return attrInt(n, 'to') ?? DT.FLOAT;
    case 'Constant': {
      const a = (n.attribute ?? []).find((x) => x.name === 'value');
      if (a?.t) return a.t.dataType ?? DT.FLOAT;
      return (n.attribute ?? []).some((x) => x.name === 'value_int' || x.name === 'value_ints') ? DT.INT64 : DT.FLOAT;
    }
    case 'ConstantOfShape': {
      const a = (n.attribute ?? []).find((x) => x.name === 'value');
      return a?.t?.dataType ?? DT.FLOAT;
    }
    case 'Equal':
    case 'Less':
    case 'LessOrEqual':
    case 'Greater':
    case 'GreaterOrEqual':
    case 'And':
    case 'Or':
    case 'Not':
    case 'IsNaN':
    case 'IsInf':
      return DT.BOOL;
    case 'Where':
      return typeOf(n.input?.[1]);
    case 'QuantizeLinear':
      return n.input?.[2] ? typeOf(n.input[2]) : DT.UINT8;
    case 'DequantizeLinear':
      return DT.FLOAT;
    default:
      return typeOf(first);
  }
}

/** Number of nodes (and graph outputs) reading each value. */
export function consumers(g: GraphProto): Map<string, NodeProto[]> {
  const c = new Map<string, NodeProto[]>();
  for (const n of g.node ?? [])
    for (const i of n.input ?? []) {
      if (!i) continue;
      const list = c.get(i) ?? [];
      if (!list.includes(n)) list.push(n);
      c.set(i, list);
    }
  return c;
}

/** A name not used by any value or node of the graph, derived from `base`. */
export function nameAllocator(g: GraphProto): (base: string) => string {
  const taken = new Set<string>();
  for (const i of g.input ?? []) taken.add(i.name ?? '');
  for (const t of g.initializer ?? []) taken.add(t.name ?? '');
  for (const n of g.node ?? []) {
    taken.add(n.name ?? '');
    for (const o of n.output ?? []) taken.add(o);
  }
  return (base) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
}

/** Drops initializers that no node reads (replaced by converted copies). */
export function dropUnusedInitializers(g: GraphProto): void {
  const used = new Set<string>();
  for (const n of g.node ?? []) for (const i of n.input ?? []) used.add(i);
  for (const o of g.output ?? []) used.add(o.name ?? '');
  g.initializer = (g.initializer ?? []).filter((t) => used.has(t.name ?? ''));
}

/** Sets (or replaces) metadata_props entries, keeping the order of existing keys. */
export function setMetadata(m: ModelProto, entries: Record<string, string>): void {
  const props = m.metadataProps ?? [];
  for (const [key, value] of Object.entries(entries)) {
    const e = props.find((x) => x.key === key);
    if (e) e.value = value;
    else props.push(onnx.StringStringEntryProto.create({ key, value }));
  }
  m.metadataProps = props;
}

export function getMetadata(m: ModelProto): Record<string, string> {
  return Object.fromEntries((m.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? '']));
}
