// ResNet-50 / ResNet-101 as torchvision builds them ("ResNet v1.5": the stride of a
// down-sampling bottleneck sits on its 3×3 conv, not on the first 1×1), with torchvision's
// `replace_stride_with_dilation` for output stride 16 or 8 (DeepLab-style dilated ResNet).
//
// Parameter names are torchvision's state_dict names (conv1, bn1, layer1.0.conv1, …,
// layer1.0.downsample.{0,1}, fc), so torchvision and timm checkpoints load by name.

import { BatchNorm2d, Conv2d, Linear } from '../layers.ts';
import type { Ops, Tensor } from '../ops.ts';
import { Backbone, freezeBatchNormParams, poolToVector, scaleChannels, type StageInfo, type StageSink } from './backbone.ts';
import { Module } from '../module.ts';

export interface ResNetOptions {
  /** 50 or 101. */
  depth: 50 | 101;
  /** Output stride of layer4: 32 (ImageNet), 16 or 8 (layer4, resp. layer3+4, dilated). */
  outputStride?: 32 | 16 | 8;
  /** Channel multiplier (1 = torchvision; 1/16 for fast tests). */
  width?: number;
  /** Classifier classes (torchvision: 1000); 0 = no classifier (`fc` absent). */
  numClasses?: number;
  /** Batch norms use running statistics in training and their affine parameters are not trained. */
  frozenBn?: boolean;
  /**
   * false: the strides an output stride below 32 removes are simply dropped, not turned into
   * dilation (IRNet's ResNet-50 with strides (2, 2, 2, 1)). Default true (torchvision / DeepLab).
   */
  dilate?: boolean;
}

const BLOCKS: Record<50 | 101, [number, number, number, number]> = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
};

const EXPANSION = 4;

/** torchvision's kaiming_normal_(mode='fan_out', nonlinearity='relu') for every conv. */
const CONV_INIT = { kind: 'kaiming-normal', mode: 'fan_out' } as const;

function bn(channels: number, frozen: boolean): BatchNorm2d {
  const b = new BatchNorm2d(channels, { frozen });
  if (frozen) freezeBatchNormParams(b);
  return b;
}

/** torchvision's Bottleneck: 1×1 reduce, 3×3 (stride, dilation), 1×1 expand, + shortcut, ReLU. */
class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Downsample | null;
  constructor(inChannels: number, mid: number, stride: number, dilation: number, frozenBn: boolean) {
    super();
    const out = mid * EXPANSION;
    this.conv1 = this.child('conv1', new Conv2d(inChannels, mid, 1, { bias: false, weightInit: CONV_INIT }));
    this.bn1 = this.child('bn1', bn(mid, frozenBn));
    this.conv2 = this.child(
      'conv2',
      new Conv2d(mid, mid, 3, { stride, padding: dilation, dilation, bias: false, weightInit: CONV_INIT }),
    );
    this.bn2 = this.child('bn2', bn(mid, frozenBn));
    this.conv3 = this.child('conv3', new Conv2d(mid, out, 1, { bias: false, weightInit: CONV_INIT }));
    this.bn3 = this.child('bn3', bn(out, frozenBn));
    this.downsample = stride !== 1 || inChannels !== out ? this.child('downsample', new Downsample(inChannels, out, stride, frozenBn)) : null;
  }
  forward(ops: Ops, x: Tensor): Tensor {
    let h = ops.relu(this.bn1.forward(ops, this.conv1.forward(ops, x)));
    h = ops.relu(this.bn2.forward(ops, this.conv2.forward(ops, h)));
    h = this.bn3.forward(ops, this.conv3.forward(ops, h));
    const shortcut = this.downsample ? this.downsample.forward(ops, x) : x;
    return ops.relu(ops.add(h, shortcut));
  }
}

/** The projection shortcut, an nn.Sequential(conv1x1, bn) in torchvision: names '0' and '1'. */
class Downsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inChannels: number, out: number, stride: number, frozenBn: boolean) {
    super();
    this.conv = this.child(0, new Conv2d(inChannels, out, 1, { stride, bias: false, weightInit: CONV_INIT }));
    this.bn = this.child(1, bn(out, frozenBn));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return this.bn.forward(ops, this.conv.forward(ops, x));
  }
}

/** One residual stage ('layer1' … 'layer4'): blocks named 0, 1, 2, … */
class ResLayer extends Module {
  readonly blocks: Bottleneck[] = [];
  add(b: Bottleneck): void {
    this.blocks.push(this.child(this.blocks.length, b));
  }
  forward(ops: Ops, x: Tensor): Tensor {
    for (const b of this.blocks) x = ops.scope(b.path, () => b.forward(ops, x));
    return x;
  }
}

export class ResNet extends Backbone {
  readonly arch: string;
  readonly stages: StageInfo[];
  readonly outputStride: number;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: ResLayer[] = [];
  readonly fc: Linear | null;

  constructor(readonly options: ResNetOptions) {
    super();
    const { depth } = options;
    const width = options.width ?? 1;
    const frozenBn = options.frozenBn ?? false;
    const numClasses = options.numClasses ?? 1000;
    const os = options.outputStride ?? 32;
    if (!BLOCKS[depth]) throw new Error(`ResNet: depth must be 50 or 101, got ${depth}`);
    if (os !== 32 && os !== 16 && os !== 8) throw new Error(`ResNet: output stride must be 32, 16 or 8, got ${os}`);
    this.arch = `resnet${depth}`;
    this.outputStride = os;
    // torchvision replace_stride_with_dilation for layer2..4: os16 → [F, F, T], os8 → [F, T, T].
    const dilateLayer = [false, false, os <= 8, os <= 16];

    const stemChannels = scaleChannels(64, width);
    this.conv1 = this.child('conv1', new Conv2d(3, stemChannels, 7, { stride: 2, padding: 3, bias: false, weightInit: CONV_INIT }));
    this.bn1 = this.child('bn1', bn(stemChannels, frozenBn));

    let inChannels = stemChannels;
    let dilation = 1;
    let stride = 4;
    this.stages = [{ name: 'stem', channels: stemChannels, stride: 4, meaning: 'max-pooled stem (conv1, bn1, relu, maxpool)' }];
    const planes = [64, 128, 256, 512];
    for (let l = 0; l < 4; l++) {
      const mid = scaleChannels(planes[l], width);
      let blockStride = l === 0 ? 1 : 2;
      // As torchvision's _make_layer: the first block keeps the previous dilation, then the
      // stage's stride turns into dilation for the following blocks.
      const firstDilation = dilation;
      if (dilateLayer[l]) {
        if (options.dilate ?? true) dilation *= blockStride;
        blockStride = 1;
      }
      stride *= blockStride;
      const layer = this.child(`layer${l + 1}`, new ResLayer());
      for (let b = 0; b < BLOCKS[depth][l]; b++) {
        layer.add(new Bottleneck(inChannels, mid, b === 0 ? blockStride : 1, b === 0 ? firstDilation : dilation, frozenBn));
        inChannels = mid * EXPANSION;
      }
      this.layers.push(layer);
      this.stages.push({
        name: `layer${l + 1}`,
        channels: inChannels,
        stride,
        meaning: `output of residual stage ${l + 1} (torchvision layer${l + 1}), stride ${stride}`,
      });
    }
    this.stages.push({ name: 'pool', channels: inChannels, stride: 0, meaning: 'global average of layer4, [N, C]' });
    if (numClasses > 0) {
      this.fc = this.child('fc', new Linear(inChannels, numClasses));
      this.stages.push({ name: 'logits', channels: numClasses, stride: 0, meaning: 'classifier logits (fc on the pooled layer4), [N, classes]' });
    } else this.fc = null;
  }

  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    x = ops.scope('stem', () => {
      const h = ops.relu(this.bn1.forward(ops, this.conv1.forward(ops, x)));
      return ops.maxPool(h, { kernel: 3, stride: 2, padding: 1 });
    });
    if (sink.emit('stem', x)) return;
    for (let l = 0; l < 4; l++) {
      x = this.layers[l].forward(ops, x);
      if (sink.emit(`layer${l + 1}`, x)) return;
    }
    const pooled = poolToVector(ops, x);
    if (sink.emit('pool', pooled)) return;
    if (this.fc) sink.emit('logits', ops.scope('fc', () => this.fc!.forward(ops, pooled)));
  }
}
