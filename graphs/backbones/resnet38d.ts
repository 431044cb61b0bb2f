// WideResNet-38 ("Model A1" of Wu et al., Wider or Deeper) in the dilated "resnet38d" layout
// that AffinityNet, SEAM, 1-Stage and EDAM share (reference/SPEC-backbones.md §1): a
// pre-activation ResNet with output stride 8, bias-free convs, no max pooling.
//
// Parameter names are the official ones (conv1a, b2.bn_branch2a, b4_5.conv_branch2b1, bn7, …)
// so the converted ImageNet file and the repos' checkpoints load by name.

import { BatchNorm2d, Conv2d } from '../layers.ts';
import { Module } from '../module.ts';
import type { Ops, Tensor } from '../ops.ts';
import { Backbone, freezeBatchNormParams, scaleChannels, type StageInfo, type StageSink } from './backbone.ts';

export interface ResNet38dOptions {
  /** Channel multiplier (1 = official; 1/16 reproduces the reduced-width fixtures). */
  width?: number;
  /**
   * ReLU after the final bn7 (1-Stage, psa, SEAM: true). EDAM feeds the signed bn7 output to its
   * DA layer: false.
   */
  finalRelu?: boolean;
  /**
   * Every repo keeps the backbone's batch norms in eval mode with untrained affine parameters
   * (SPEC-backbones §1.6); default true.
   */
  frozenBn?: boolean;
}

/** The official code leaves PyTorch's default conv init; the ImageNet weights replace it. */
const CONV_INIT = { kind: 'kaiming-uniform' } as const;

function bn(channels: number, frozen: boolean): BatchNorm2d {
  const b = new BatchNorm2d(channels, { frozen });
  if (frozen) freezeBatchNormParams(b);
  return b;
}

/**
 * A pre-activation block in two steps, because the repos tap the activated input of some
 * blocks (conv4 = b5's) without needing the rest of the block.
 */
interface PreActBlock extends Module {
  /** ReLU(bn_branch2a(x)): feeds the residual branch and the projection shortcut. */
  activate(ops: Ops, x: Tensor): Tensor;
  /** The block output (residual sum) from the raw input x and its activation a. */
  residual(ops: Ops, x: Tensor, a: Tensor): Tensor;
}

/** The "3-3" block: BN-ReLU, 3×3 (stride, first dilation), BN-ReLU, 3×3 (dilation), + shortcut. */
class ResBlock extends Module implements PreActBlock {
  readonly bnBranch2a: BatchNorm2d;
  readonly convBranch2a: Conv2d;
  readonly bnBranch2b1: BatchNorm2d;
  readonly convBranch2b1: Conv2d;
  readonly convBranch1: Conv2d | null;
  constructor(inC: number, midC: number, outC: number, stride: number, firstDilation: number, dilation: number, frozenBn: boolean) {
    super();
    this.bnBranch2a = this.child('bn_branch2a', bn(inC, frozenBn));
    this.convBranch2a = this.child(
      'conv_branch2a',
      new Conv2d(inC, midC, 3, { stride, padding: firstDilation, dilation: firstDilation, bias: false, weightInit: CONV_INIT }),
    );
    this.bnBranch2b1 = this.child('bn_branch2b1', bn(midC, frozenBn));
    this.convBranch2b1 = this.child(
      'conv_branch2b1',
      new Conv2d(midC, outC, 3, { padding: dilation, dilation, bias: false, weightInit: CONV_INIT }),
    );
    // Registered last, as the official class does, so the key order matches its state_dict.
    this.convBranch1 =
      inC !== outC || stride !== 1 ? this.child('conv_branch1', new Conv2d(inC, outC, 1, { stride, bias: false, weightInit: CONV_INIT })) : null;
  }
  activate(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.bnBranch2a.forward(ops, x));
  }
  residual(ops: Ops, x: Tensor, a: Tensor): Tensor {
    // The projection shortcut sees the activated input; the identity shortcut the raw one.
    const shortcut = this.convBranch1 ? this.convBranch1.forward(ops, a) : x;
    let h = this.convBranch2a.forward(ops, a);
    h = ops.relu(this.bnBranch2b1.forward(ops, h));
    h = this.convBranch2b1.forward(ops, h);
    return ops.add(shortcut, h);
  }
}

/** The "1-3-1" bottleneck (b6, b7): 1×1 to out/4, dilated 3×3 to out/2, 1×1 to out, dropout. */
class ResBlockBottleneck extends Module implements PreActBlock {
  readonly bnBranch2a: BatchNorm2d;
  readonly convBranch2a: Conv2d;
  readonly bnBranch2b1: BatchNorm2d;
  readonly convBranch2b1: Conv2d;
  readonly bnBranch2b2: BatchNorm2d;
  readonly convBranch2b2: Conv2d;
  readonly convBranch1: Conv2d;
  constructor(inC: number, outC: number, dilation: number, readonly dropout: number, frozenBn: boolean) {
    super();
    const q = outC / 4;
    const h = outC / 2;
    this.bnBranch2a = this.child('bn_branch2a', bn(inC, frozenBn));
    this.convBranch2a = this.child('conv_branch2a', new Conv2d(inC, q, 1, { bias: false, weightInit: CONV_INIT }));
    this.bnBranch2b1 = this.child('bn_branch2b1', bn(q, frozenBn));
    this.convBranch2b1 = this.child(
      'conv_branch2b1',
      new Conv2d(q, h, 3, { padding: dilation, dilation, bias: false, weightInit: CONV_INIT }),
    );
    this.bnBranch2b2 = this.child('bn_branch2b2', bn(h, frozenBn));
    this.convBranch2b2 = this.child('conv_branch2b2', new Conv2d(h, outC, 1, { bias: false, weightInit: CONV_INIT }));
    this.convBranch1 = this.child('conv_branch1', new Conv2d(inC, outC, 1, { bias: false, weightInit: CONV_INIT }));
  }
  activate(ops: Ops, x: Tensor): Tensor {
    return ops.relu(this.bnBranch2a.forward(ops, x));
  }
  residual(ops: Ops, _x: Tensor, a: Tensor): Tensor {
    const shortcut = this.convBranch1.forward(ops, a);
    let h = this.convBranch2a.forward(ops, a);
    // The official blocks use channel-wise Dropout2d here; Ops offers element-wise dropout,
    // which differs only in training (both are the identity at inference).
    h = ops.dropout(ops.relu(this.bnBranch2b1.forward(ops, h)), this.dropout);
    h = this.convBranch2b1.forward(ops, h);
    h = ops.dropout(ops.relu(this.bnBranch2b2.forward(ops, h)), this.dropout);
    h = this.convBranch2b2.forward(ops, h);
    return ops.add(shortcut, h);
  }
}

export class ResNet38d extends Backbone {
  readonly arch = 'resnet38d';
  readonly outputStride = 8;
  readonly stages: StageInfo[];
  /** 1-Stage's skip input is conv3, the raw residual sum of b3 (SPEC §1.1), not SEAM's activated one. */
  override get lowLevelStage(): StageInfo {
    return this.stage('conv3');
  }
  readonly conv1a: Conv2d;
  /** Blocks in forward order with their official names (b2, b2_1, …, b7). */
  readonly blocks: [string, PreActBlock][] = [];
  readonly bn7: BatchNorm2d;
  readonly finalRelu: boolean;

  constructor(options: ResNet38dOptions = {}) {
    super();
    const w = options.width ?? 1;
    const frozenBn = options.frozenBn ?? true;
    this.finalRelu = options.finalRelu ?? true;
    const c = (n: number) => scaleChannels(n, w);
    this.conv1a = this.child('conv1a', new Conv2d(3, c(64), 3, { padding: 1, bias: false, weightInit: CONV_INIT }));
    const add = (name: string, b: PreActBlock) => {
      this.child(name, b);
      this.blocks.push([name, b]);
    };
    // Table of SPEC-backbones §1.3: (in, mid, out, stride, first dilation, dilation).
    add('b2', new ResBlock(c(64), c(128), c(128), 2, 1, 1, frozenBn));
    add('b2_1', new ResBlock(c(128), c(128), c(128), 1, 1, 1, frozenBn));
    add('b2_2', new ResBlock(c(128), c(128), c(128), 1, 1, 1, frozenBn));
    add('b3', new ResBlock(c(128), c(256), c(256), 2, 1, 1, frozenBn));
    add('b3_1', new ResBlock(c(256), c(256), c(256), 1, 1, 1, frozenBn));
    add('b3_2', new ResBlock(c(256), c(256), c(256), 1, 1, 1, frozenBn));
    add('b4', new ResBlock(c(256), c(512), c(512), 2, 1, 1, frozenBn));
    for (let i = 1; i <= 5; i++) add(`b4_${i}`, new ResBlock(c(512), c(512), c(512), 1, 1, 1, frozenBn));
    add('b5', new ResBlock(c(512), c(512), c(1024), 1, 1, 2, frozenBn));
    add('b5_1', new ResBlock(c(1024), c(512), c(1024), 1, 2, 2, frozenBn));
    add('b5_2', new ResBlock(c(1024), c(512), c(1024), 1, 2, 2, frozenBn));
    add('b6', new ResBlockBottleneck(c(1024), c(2048), 4, 0.3, frozenBn));
    add('b7', new ResBlockBottleneck(c(2048), c(4096), 4, 0.5, frozenBn));
    this.bn7 = this.child('bn7', bn(c(4096), frozenBn));
    this.stages = [
      { name: 'conv3', channels: c(256), stride: 4, meaning: 'raw residual sum of b3_2 (1-Stage conv3; no BN, no ReLU, signed)' },
      { name: 'conv3_act', channels: c(256), stride: 4, meaning: "ReLU(b4.bn_branch2a(b3_2)): SEAM's conv3" },
      { name: 'conv4', channels: c(512), stride: 8, meaning: 'ReLU(b5.bn_branch2a(b4_5)): the activated input of b5' },
      { name: 'conv5', channels: c(1024), stride: 8, meaning: 'ReLU(b6.bn_branch2a(b5_2)): the activated input of b6' },
      {
        name: 'conv6',
        channels: c(4096),
        stride: 8,
        meaning: this.finalRelu ? 'ReLU(bn7(b7)): final features' : 'bn7(b7) without ReLU (EDAM): final signed features',
      },
    ];
  }

  protected run(ops: Ops, x: Tensor, sink: StageSink): void {
    x = ops.scope('conv1a', () => this.conv1a.forward(ops, x));
    for (const [name, block] of this.blocks) {
      const a = ops.scope(name, () => block.activate(ops, x));
      // The dict outputs conv3_act / conv4 / conv5 are the activated inputs of b4 / b5 / b6.
      if (name === 'b4' && sink.emit('conv3_act', a)) return;
      if (name === 'b5' && sink.emit('conv4', a)) return;
      if (name === 'b6' && sink.emit('conv5', a)) return;
      x = ops.scope(name, () => block.residual(ops, x, a));
      if (name === 'b3_2' && sink.emit('conv3', x)) return;
    }
    const y = this.bn7.forward(ops, x);
    sink.emit('conv6', this.finalRelu ? ops.relu(y) : y);
  }
}
