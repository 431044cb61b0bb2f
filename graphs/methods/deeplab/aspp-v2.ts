// DeepLab-v2's ASPP on ResNet (Chen et al., TPAMI 2018, Fig. 7; the ResNet-101 model of the
// DeepLab release): four parallel 3×3 classifiers with dilation rates 6, 12, 18, 24 (at output
// stride 8) read the final features directly and their outputs are summed. Weights N(0, 0.01),
// biases 0, as the release initialises its new layers.

import { Conv2d } from '../../layers.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';

export class AsppV2 extends Module {
  readonly branches: Conv2d[];
  constructor(inChannels: number, outChannels: number, readonly rates: number[]) {
    super();
    if (!rates.length || rates.some((r) => !Number.isInteger(r) || r < 1)) throw new Error(`ASPP-v2: positive integer rates expected, got [${rates.join(', ')}]`);
    this.branches = rates.map((r, i) =>
      this.child(`c${i}`, new Conv2d(inChannels, outChannels, 3, { padding: r, dilation: r, weightInit: { kind: 'normal', std: 0.01 }, biasInit: { kind: 'zeros' } })),
    );
  }
  forward(ops: Ops, x: Tensor): Tensor {
    return this.branches.map((b) => b.forward(ops, x)).reduce((a, b) => ops.add(a, b));
  }
}
