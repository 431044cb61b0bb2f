// Basic parameterised layers, named as PyTorch names them so state_dicts map one to one.

import { Module, type Initialiser, type ParamRef } from './module.ts';
import type { Conv2dOptions, Ops, Tensor } from './ops.ts';

export interface Conv2dConfig extends Conv2dOptions {
  bias?: boolean; // default true
  weightInit?: Initialiser; // default PyTorch's kaiming-uniform
  biasInit?: Initialiser;
}

/** nn.Conv2d: weight [out, in/groups, kh, kw], optional bias [out]. */
export class Conv2d extends Module {
  readonly weight: ParamRef;
  readonly bias: ParamRef | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number | [number, number],
    readonly config: Conv2dConfig = {},
  ) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = config.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: groups=${groups} must divide ${inChannels} and ${outChannels}`);
    this.weight = this.param('weight', [outChannels, inChannels / groups, kh, kw], config.weightInit ?? { kind: 'kaiming-uniform' });
    if (config.bias ?? true) {
      const fanIn = (inChannels / groups) * kh * kw;
      const bound = 1 / Math.sqrt(fanIn);
      this.bias = this.param('bias', [outChannels], config.biasInit ?? { kind: 'uniform', low: -bound, high: bound });
    } else this.bias = null;
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.conv2d(x, ops.param(this.weight), this.bias ? ops.param(this.bias) : null, this.config);
  }
}

/** nn.BatchNorm2d with affine parameters and running statistics. */
export class BatchNorm2d extends Module {
  readonly weight: ParamRef;
  readonly bias: ParamRef;
  readonly runningMean: ParamRef;
  readonly runningVar: ParamRef;
  constructor(
    readonly channels: number,
    readonly options: { eps?: number; momentum?: number; frozen?: boolean } = {},
  ) {
    super();
    this.weight = this.param('weight', [channels], { kind: 'ones' });
    this.bias = this.param('bias', [channels], { kind: 'zeros' });
    this.runningMean = this.buffer('running_mean', [channels], { kind: 'zeros' });
    this.runningVar = this.buffer('running_var', [channels], { kind: 'ones' });
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return ops.batchNorm(
      x,
      { weight: this.weight, bias: this.bias, runningMean: this.runningMean, runningVar: this.runningVar },
      this.options,
    );
  }
}

/** nn.Linear on [N, in]: y = x·Wᵀ + b, weight [out, in]. */
export class Linear extends Module {
  readonly weight: ParamRef;
  readonly bias: ParamRef | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    config: { bias?: boolean; weightInit?: Initialiser } = {},
  ) {
    super();
    this.weight = this.param('weight', [outFeatures, inFeatures], config.weightInit ?? { kind: 'kaiming-uniform' });
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = config.bias ?? true ? this.param('bias', [outFeatures], { kind: 'uniform', low: -bound, high: bound }) : null;
  }
  forward(ops: Ops, x: Tensor): Tensor {
    const y = ops.matmul(x, ops.param(this.weight), { transposeB: true });
    return this.bias ? ops.add(y, ops.param(this.bias)) : y;
  }
}
