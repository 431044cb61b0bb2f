// VGG-16 in two layouts:
// - `VGG16`: torchvision's vgg16 (features.N, classifier.{0,3,6}), the classifier the Grad-CAM
//   method explains;
// - `VGG16d`: the DeepLab-LargeFOV-style VGG-16 of 1-Stage / AffinityNet ("vgg16d",
//   reference/SPEC-backbones.md §2): 3×3/2 pools, pool4 stride 1, dilated conv5, conv fc6/fc7,
//   output stride 8, official names conv1_1 … conv5_3, fc6, fc7.

import { Conv2d, Linear } from '../layers.ts';
import type { Ops, Tensor } from '../ops.ts';
import { Backbone, scaleChannels, Sequential, type StageInfo, type StageSink } from './backbone.ts';

/** Convolution widths of VGG-16's five blocks. */
const BLOCK_WIDTHS = [64, 128, 256, 512, 512];
const BLOCK_CONVS = [2, 2, 3, 3, 3];

export interface VGG16Options {
  /** Channel multiplier, also applied to the 4096-wide classifier layers (1 = torchvision). */
  width?: number;
  /** Classifier classes (torchvision: 1000); 0 = features only. */
  numClasses?: number;
}

/** torchvision's VGG init: kaiming_normal_(fan_out) convs, N(0, 0.01) linears, zero biases. */
const TV_CONV_INIT = { kind: 'kaiming-normal', mode: 'fan_out' } as const;
const TV_LINEAR_INIT = { kind: 'normal', std: 0.01 } as const;
const ZERO = { kind: 'zeros' } as const;

export class VGG16 extends Backbone {
  readonly arch = 'vgg16';
  readonly outputStride = 32;
  readonly stages: StageInfo[] = [];
  /** Per block, its convs in order. */
  readonly blocks: Conv2d[][] = [];
  readonly fc1: Linear | null = null;
  readonly fc2: Linear | null = null;
  readonly fc3: Linear | null = null;

  constructor(options: VGG16Options = {}) {
    super();
    const w = options.width ?? 1;
    const numClasses = options.numClasses ?? 1000;
    const features = this.child('features', new Sequential());
    // torchvision numbers the nn.Sequential's children: conv, ReLU, …, MaxPool; only convs
    // have parameters, so the indices skip the ReLUs and pools.
    let index = 0;
    let inC = 3;
    for (let b = 0; b < 5; b++) {
      const outC = scaleChannels(BLOCK_WIDTHS[b], w);
      const convs: Conv2d[] = [];
      for (let i = 0; i < BLOCK_CONVS[b]; i++) {
        convs.push(features.add(index, new Conv2d(inC, outC, 3, { padding: 1, weightInit: TV_CONV_INIT, biasInit: ZERO })));
        index += 2; // conv, ReLU
        inC = outC;
      }
      index += 1; // MaxPool
      this.blocks.push(convs);
      this.stages.push({
        name: `conv${b + 1}`,
        channels: outC,
        stride: 2 ** b,
        meaning: `ReLU(conv${b + 1}_${BLOCK_CONVS[b]}) before pool${b + 1}`,
      });
    }
    this.stages.push({ name: 'pool5', channels: inC, stride: 32, meaning: 'output of the last 2×2 max pool' });
    if (numClasses > 0) {
      const hidden = scaleChannels(4096, w);
      const classifier = this.child('classifier', new Sequential());
      const lin = (i: number, a: number, b: number) => classifier.add(i, new Linear(a, b, { weightInit: TV_LINEAR_INIT }));
      this.fc1 = lin(0, inC * 7 * 7, hidden);
      this.fc2 = lin(3, hidden, hidden);
      this.fc3 = lin(6, hidden, numClasses);
      this.stages.push({ name: 'logits', channels: numClasses, stride: 0, meaning: 'classifier logits, [N, classes]' });
    }
  }

  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    for (let b = 0; b < 5; b++) {
      for (const conv of this.blocks[b]) x = ops.relu(conv.forward(ops, x));
      if (sink.emit(`conv${b + 1}`, x)) return;
      x = ops.maxPool(x, { kernel: 2, stride: 2 });
    }
    if (sink.emit('pool5', x)) return;
    if (!this.fc1 || !this.fc2 || !this.fc3) return;
    // torchvision: AdaptiveAvgPool2d(7), flatten, Linear-ReLU-Dropout ×2, Linear.
    let h = ops.reshape(ops.adaptiveAvgPool(x, 7), [0, -1]);
    h = ops.dropout(ops.relu(this.fc1.forward(ops, h)), 0.5);
    h = ops.dropout(ops.relu(this.fc2.forward(ops, h)), 0.5);
    sink.emit('logits', this.fc3.forward(ops, h));
  }
}

export interface VGG16dOptions {
  /** Channel multiplier (1 = official; 1/16 reproduces the reduced-width fixtures). */
  width?: number;
  /** Dilation (and padding) of fc6: 1 in 1-Stage and psa's classifier, 4 in psa's affinity net. */
  fc6Dilation?: number;
}

export class VGG16d extends Backbone {
  readonly arch = 'vgg16d';
  readonly outputStride = 8;
  readonly stages: StageInfo[];
  readonly blocks: Conv2d[][] = [];
  readonly fc6: Conv2d;
  readonly fc7: Conv2d;

  constructor(options: VGG16dOptions = {}) {
    super();
    const w = options.width ?? 1;
    const d6 = options.fc6Dilation ?? 1;
    let inC = 3;
    for (let b = 0; b < 5; b++) {
      const outC = scaleChannels(BLOCK_WIDTHS[b], w);
      // conv5_x are dilated by 2 (pad 2) to keep stride 8 after pool4 lost its stride.
      const dil = b === 4 ? 2 : 1;
      const convs: Conv2d[] = [];
      for (let i = 0; i < BLOCK_CONVS[b]; i++) {
        convs.push(this.child(`conv${b + 1}_${i + 1}`, new Conv2d(inC, outC, 3, { padding: dil, dilation: dil })));
        inC = outC;
      }
      this.blocks.push(convs);
    }
    const fc = scaleChannels(1024, w);
    this.fc6 = this.child('fc6', new Conv2d(inC, fc, 3, { padding: d6, dilation: d6 }));
    this.fc7 = this.child('fc7', new Conv2d(fc, fc, 1));
    const c = (b: number) => scaleChannels(BLOCK_WIDTHS[b], w);
    this.stages = [
      { name: 'conv3', channels: c(2), stride: 4, meaning: 'ReLU(conv3_3) before pool3 (1-Stage conv3)' },
      { name: 'conv4', channels: c(3), stride: 8, meaning: "ReLU(conv4_3) before pool4 (psa's conv4)" },
      { name: 'conv5', channels: c(4), stride: 8, meaning: "ReLU(conv5_3) (psa's conv5)" },
      { name: 'conv6', channels: fc, stride: 8, meaning: `ReLU(fc7(ReLU(fc6))) with fc6 dilation ${d6} (1-Stage conv6)` },
    ];
  }

  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    for (let b = 0; b < 5; b++) {
      for (const conv of this.blocks[b]) x = ops.relu(conv.forward(ops, x));
      if (b >= 2 && sink.emit(`conv${b + 1}`, x)) return;
      // pool1–3: 3×3, stride 2, pad 1 (ceil(H/2)); pool4: 3×3, stride 1, pad 1; no pool5.
      if (b < 4) x = ops.maxPool(x, { kernel: 3, stride: b < 3 ? 2 : 1, padding: 1 });
    }
    // The official drop6 is channel-wise Dropout2d; Ops offers element-wise dropout (the same
    // identity at inference).
    let h = ops.dropout(ops.relu(this.fc6.forward(ops, x)), 0.5);
    h = ops.relu(this.fc7.forward(ops, h));
    sink.emit('conv6', h);
  }
}
