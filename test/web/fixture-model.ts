// A small CAM model written directly with onnx-proto, so runtime and web tests do not depend on
// the exporter. It has the shape of an exported wsss CAM model: RGB [0,255] input with the
// normalisation inside the graph, a stride-2 conv, a 1×1 classifier, ReLU CAMs max-normalised
// per class ('cams', at stride 2 so the runtime's upsampling is exercised) and GAP class scores
// ('scores'), plus the wsss metadata.
//
// The weights make class k respond to colour k (red, green, blue) with seeded noise on top, so
// a synthetic image of coloured shapes gives well-separated CAMs: the agreement tests measure
// arithmetic differences between execution providers, not coin flips between near-equal scores.

import p from 'onnx-proto';
import { INPUT_CONVENTION_RGB_0_255, metadataProps, type ModelInfoInput } from '../../runtime/model-metadata.ts';

const { onnx } = p;

export const FIXTURE_CLASSES = ['red-thing', 'green-thing', 'blue-thing'];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const HIDDEN = 8;

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function tensor(name: string, dims: number[], values: ArrayLike<number>): p.onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(values) };
}

function node(opType: string, inputs: string[], outputs: string[], attrs: p.onnx.IAttributeProto[] = []): p.onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, attribute: attrs };
}

const ints = (name: string, v: number[]): p.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const int = (name: string, v: number): p.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

function valueInfo(name: string, dims: (number | string)[]): p.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface FixtureModelOptions {
  seed?: number;
  /** Leave out the wsss metadata (to test the error). */
  withoutMetadata?: boolean;
  /** Extra or replacement metadata entries. */
  metadataOverrides?: Record<string, string>;
}

export const FIXTURE_INFO: ModelInfoInput = {
  method: 'cam',
  graph: 'fixture-cam',
  classNames: FIXTURE_CLASSES,
  normalisation: { mean: MEAN, std: STD },
  inputConvention: INPUT_CONVENTION_RGB_0_255,
  outputs: [
    { name: 'cams', meaning: 'CAMs [N, C, H/2, W/2], ReLU, max-normalised per class' },
    { name: 'scores', meaning: 'image-level class scores [N, C] (GAP of the classifier output)' },
  ],
  outputStride: 2,
};

/** Bytes of the fixture ONNX model. */
export function fixtureModelBytes(options: FixtureModelOptions = {}): Uint8Array {
  const rnd = noise(options.seed ?? 7);
  const c = FIXTURE_CLASSES.length;

  // Conv1 3→HIDDEN 3×3 stride 2: hidden channel h sees colour h % 3 through its centre tap
  // (sign alternating so some channels respond to the absence of a colour), plus noise.
  const w1 = new Float32Array(HIDDEN * 3 * 9);
  for (let h = 0; h < HIDDEN; h++) {
    for (let ci = 0; ci < 3; ci++) {
      for (let k = 0; k < 9; k++) {
        let v = 0.05 * rnd();
        if (ci === h % 3) v += (k === 4 ? 1 : 0.1) * (h < 3 ? 1 : -0.5);
        w1[(h * 3 + ci) * 9 + k] = v;
      }
    }
  }
  const b1 = Float32Array.from({ length: HIDDEN }, () => 0.1 * rnd());
  // Classifier HIDDEN→C: class k is hidden k minus the other colours, plus noise; the negative
  // bias keeps the grey background (which is bluish after normalisation) at zero.
  const w2 = new Float32Array(c * HIDDEN);
  for (let k = 0; k < c; k++) {
    for (let h = 0; h < HIDDEN; h++) w2[k * HIDDEN + h] = 0.1 * rnd() + (h === k ? 1 : h < 3 ? -0.6 : 0);
  }

  const b2 = Float32Array.from({ length: c }, () => -1 + 0.1 * rnd());
  const scale = STD.map((s) => 1 / (255 * s));
  const shift = MEAN.map((m, i) => -m / STD[i]);

  const graph: p.onnx.IGraphProto = {
    name: 'fixture-cam',
    input: [valueInfo('image', ['N', 3, 'H', 'W'])],
    output: [valueInfo('cams', ['N', c, 'h', 'w']), valueInfo('scores', ['N', c])],
    initializer: [
      tensor('norm_scale', [1, 3, 1, 1], scale),
      tensor('norm_shift', [1, 3, 1, 1], shift),
      tensor('conv1.weight', [HIDDEN, 3, 3, 3], w1),
      tensor('conv1.bias', [HIDDEN], b1),
      tensor('classifier.weight', [c, HIDDEN, 1, 1], w2),
      tensor('classifier.bias', [c], b2),
      tensor('eps', [], [1e-5]),
    ],
    node: [
      node('Mul', ['image', 'norm_scale'], ['scaled']),
      node('Add', ['scaled', 'norm_shift'], ['normalised']),
      node('Conv', ['normalised', 'conv1.weight', 'conv1.bias'], ['conv1'], [ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2]), ints('kernel_shape', [3, 3])]),
      node('Relu', ['conv1'], ['feat']),
      node('Conv', ['feat', 'classifier.weight', 'classifier.bias'], ['class_maps'], [ints('kernel_shape', [1, 1])]),
      node('GlobalAveragePool', ['class_maps'], ['gap']),
      node('Flatten', ['gap'], ['scores'], [int('axis', 1)]),
      node('Relu', ['class_maps'], ['cam_relu']),
      node('ReduceMax', ['cam_relu'], ['cam_max'], [ints('axes', [2, 3]), int('keepdims', 1)]),
      node('Add', ['cam_max', 'eps'], ['cam_den']),
      node('Div', ['cam_relu', 'cam_den'], ['cams']),
    ],
  };

  const props = options.withoutMetadata ? {} : { ...metadataProps(FIXTURE_INFO), ...options.metadataOverrides };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'wsss-test-fixture',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A synthetic RGB image (interleaved, 3 channels): grey background with a red disc, a green
 * rectangle and a blue triangle scaled to the size, plus mild seeded texture.
 */
export function syntheticImage(width: number, height: number, seed = 1): Uint8Array {
  const rnd = noise(seed);
  const img = new Uint8Array(width * height * 3);
  const cx = width * 0.3;
  const cy = height * 0.35;
  const r = Math.min(width, height) * 0.2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let col = [128, 128, 128];
      if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) col = [220, 40, 40];
      else if (x > width * 0.6 && x < width * 0.9 && y > height * 0.15 && y < height * 0.5) col = [40, 200, 60];
      else if (y > height * 0.6 && y < height * 0.95 && Math.abs(x - width * 0.5) < (y - height * 0.6) * 0.8) col = [40, 60, 210];
      const t = 12 * rnd();
      const i = (y * width + x) * 3;
      img[i] = Math.max(0, Math.min(255, col[0] + t));
      img[i + 1] = Math.max(0, Math.min(255, col[1] + t));
      img[i + 2] = Math.max(0, Math.min(255, col[2] + t));
    }
  }
  return img;
}
