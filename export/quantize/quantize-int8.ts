// Static int8 quantization in QDQ form (QuantizeLinear → DequantizeLinear pairs around float
// ops), the format onnxruntime fuses into integer kernels (QLinearConv, QLinearAdd) on the CPU
// EP and runs as-is elsewhere:
// - Conv weights: symmetric int8 per output channel (zero point 0, range ±127), biases int32 with
//   scale = input scale × weight scale, as onnxruntime's QDQ Conv fusion requires.
// - Activations: asymmetric uint8 per tensor, from ranges calibrated on real images
//   (calibrate.ts): every activation a quantized op reads.
// - Residual Adds of two activations and MaxPool (same scale in and out) run quantized.
// - The CAM classifier reads quantized features (and pooled features) but its output is not
//   quantized, so it computes in float; Resize, ReduceMax and Div of the CAM normalisation read
//   float values and stay float.

import { DT, dims, dropUnusedInitializers, floatData, intAttr, makeNode, makeTensor, nameAllocator, type ModelProto, type NodeProto, type TensorProto } from './onnx-model.ts';

export interface Int8Plan {
  /** Activation values to quantize, in graph order; each needs a calibrated range. */
  activations: string[];
  /** value → the value whose quantization parameters it reuses (MaxPool outputs). */
  sharedParams: Map<string, string>;
  /** Conv nodes whose weights (and bias) become int8 (int32). */
  convs: NodeProto[];
}

export interface Range {
  min: number;
  max: number;
}

/** Decides what to quantize; the activation list is what calibration must measure. */
export function planInt8(model: ModelProto): Int8Plan {
  const g = model.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const producer = new Map<string, NodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const isActivation = (v: string) => !!v && !inits.has(v) && producer.get(v)?.opType !== 'Constant';

  const convs = (g.node ?? []).filter((n) => n.opType === 'Conv' && inits.has(n.input?.[1] ?? '') && (!n.input?.[2] || inits.has(n.input[2])));
  const quantizedOps = new Set<NodeProto>(convs);
  for (const n of g.node ?? []) {
    if (n.opType === 'Add' && (n.input ?? []).length === 2 && n.input!.every(isActivation)) quantizedOps.add(n);
    if (n.opType === 'MaxPool' && (n.output ?? []).length === 1) quantizedOps.add(n);
  }

  const wanted = new Set<string>();
  const sharedParams = new Map<string, string>();
  for (const n of quantizedOps) {
    const dataInputs = n.opType === 'Add' ? n.input! : [n.input![0]];
    for (const v of dataInputs) if (isActivation(v) || (g.input ?? []).some((i) => i.name === v)) wanted.add(v);
  }
  // A quantized op's output is quantized exactly when a quantized op reads it (Conv → Relu →
  // Conv: the Relu output), so Relu/Clip end up between the Conv and the Q node, where
  // onnxruntime folds them. MaxPool keeps its input's scale (the max of values stays in range).
  for (const n of quantizedOps) if (n.opType === 'MaxPool' && wanted.has(n.output![0])) sharedParams.set(n.output![0], n.input![0]);
  // Order by position in the graph (graph inputs first) so the output is deterministic.
  const order = new Map<string, number>();
  (g.input ?? []).forEach((i, k) => order.set(i.name ?? '', -1 - k));
  (g.node ?? []).forEach((n, k) => (n.output ?? []).forEach((o) => order.set(o, k)));
  const activations = [...wanted].filter((v) => !sharedParams.has(v)).sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return { activations, sharedParams, convs };
}

/** uint8 scale and zero point covering `r` (widened to include 0, as quantization requires). */
export function uint8Params(r: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  if (!(hi - lo > 1e-12) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric per-output-channel int8 weights: scale_o = max|w_o| / 127. */
export function quantizeWeightsPerChannel(w: Float32Array, outChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / outChannels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let m = 0;
    for (let i = o * per; i < (o + 1) * per; i++) m = Math.max(m, Math.abs(w[i]));
    const s = m > 0 ? m / 127 : 1;
    scales[o] = s;
    for (let i = o * per; i < (o + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / s)));
  }
  return { q, scales };
}

export interface Int8Report {
  quantizedActivations: number;
  quantizedConvs: number;
  /** Bias values clipped to the int32 range (should be 0). */
  clippedBiases: number;
}

/** Rewrites `model` in place into QDQ int8 form with the calibrated `ranges`. */
export function applyInt8(model: ModelProto, plan: Int8Plan, ranges: Map<string, Range>): Int8Report {
  const g = model.graph!;
  const newName = nameAllocator(g);
  const inits = new Map<string, TensorProto>((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const added: TensorProto[] = [];
  const params = new Map<string, { scale: number; zeroPoint: number; scaleName: string; zpName: string }>();
  const paramsOf = (v: string) => {
    const src = plan.sharedParams.get(v) ?? v;
    let p = params.get(src);
    if (!p) {
      const r = ranges.get(src);
      if (!r) throw new Error(`no calibrated range for '${src}'`);
      const { scale, zeroPoint } = uint8Params(r);
      const scaleName = newName(`${src}_scale`);
      const zpName = newName(`${src}_zero_point`);
      added.push(makeTensor(scaleName, DT.FLOAT, [], Float32Array.of(scale)), makeTensor(zpName, DT.UINT8, [], Uint8Array.of(zeroPoint)));
      p = { scale, zeroPoint, scaleName, zpName };
      params.set(src, p);
    }
    return p;
  };

  // Activation Q/DQ pairs, placed right after the producer (or first, for graph inputs).
  const dqOf = new Map<string, string>();
  const after = new Map<string, NodeProto[]>(); // producer output → Q/DQ nodes to insert after it
  const atStart: NodeProto[] = [];
  const all = [...plan.activations, ...plan.sharedParams.keys()];
  for (const v of all) {
    const p = paramsOf(v);
    const q = newName(`${v}_quantized`);
    const dq = newName(`${v}_dequantized`);
    const nodes = [
      makeNode('QuantizeLinear', [v, p.scaleName, p.zpName], [q], newName(`${v}_QuantizeLinear`)),
      makeNode('DequantizeLinear', [q, p.scaleName, p.zpName], [dq], newName(`${v}_DequantizeLinear`)),
    ];
    dqOf.set(v, dq);
    const isInput = (g.input ?? []).some((i) => i.name === v);
    if (isInput) atStart.push(...nodes);
    else after.set(v, nodes);
  }

  // Conv weights and biases.
  let clippedBiases = 0;
  const convInputs = new Map<NodeProto, string[]>();
  const quantizedWeights = new Map<string, { q: string; s: string; z: string; scales: Float32Array }>();
  for (const conv of plan.convs) {
    const base = conv.input![1];
    // A weight two Convs share (the CAM classifier on the features and on their pooled vector)
    // is stored once; each Conv gets its own DequantizeLinear, as onnxruntime's fusion wants.
    let qw = quantizedWeights.get(base);
    if (!qw) {
      const wInit = inits.get(base)!;
      const wd = dims(wInit);
      const { q, scales } = quantizeWeightsPerChannel(floatData(wInit), wd[0]);
      qw = { q: newName(`${base}_quantized`), s: newName(`${base}_scale`), z: newName(`${base}_zero_point`), scales };
      added.push(makeTensor(qw.q, DT.INT8, wd, q), makeTensor(qw.s, DT.FLOAT, [wd[0]], scales), makeTensor(qw.z, DT.INT8, [wd[0]], new Int8Array(wd[0])));
      quantizedWeights.set(base, qw);
    }
    const { q: wq, s: ws, z: wz, scales } = qw;
    const wdq = newName(`${base}_dequantized`);
    const nodes = [makeNode('DequantizeLinear', [wq, ws, wz], [wdq], newName(`${base}_DequantizeLinear`), [intAttr('axis', 0)])];
    const inputs = [conv.input![0], wdq];
    const biasName = conv.input![2];
    if (biasName) {
      const b = floatData(inits.get(biasName)!);
      const sx = paramsOf(conv.input![0]).scale;
      const bs = new Float32Array(b.length);
      const bq = new Int32Array(b.length);
      for (let o = 0; o < b.length; o++) {
        bs[o] = sx * scales[o];
        const v = Math.round(b[o] / bs[o]);
        if (v > 2147483647 || v < -2147483648) clippedBiases++;
        bq[o] = Math.max(-2147483648, Math.min(2147483647, v));
      }
      const bqn = newName(`${biasName}_quantized`);
      const bsn = newName(`${biasName}_scale`);
      const bzn = newName(`${biasName}_zero_point`);
      const bdq = newName(`${biasName}_dequantized`);
      added.push(makeTensor(bqn, DT.INT32, [b.length], bq), makeTensor(bsn, DT.FLOAT, [b.length], bs), makeTensor(bzn, DT.INT32, [b.length], new Int32Array(b.length)));
      nodes.push(makeNode('DequantizeLinear', [bqn, bsn, bzn], [bdq], newName(`${biasName}_DequantizeLinear`), [intAttr('axis', 0)]));
      inputs.push(bdq);
    }
    convInputs.set(conv, inputs);
    after.set(`#conv:${conv.name}`, nodes);
  }

  const out: NodeProto[] = [...atStart];
  for (const n of g.node ?? []) {
    const ci = convInputs.get(n);
    if (ci) {
      out.push(...after.get(`#conv:${n.name}`)!);
      n.input = ci;
    }
    // Every reader of a quantized value reads its dequantized form.
    n.input = (n.input ?? []).map((v) => dqOf.get(v) ?? v);
    out.push(n);
    for (const o of n.output ?? []) {
      const ins = after.get(o);
      if (ins) out.push(...ins);
    }
  }
  g.node = out;
  g.initializer = [...(g.initializer ?? []), ...added];
  g.valueInfo = [];
  dropUnusedInitializers(g);
  return { quantizedActivations: all.length, quantizedConvs: plan.convs.length, clippedBiases };
}

