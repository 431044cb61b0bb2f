// `wsss inspect <graph name>`: parameters and cost (MACs / FLOPs) of a network at a given input
// size, per stage for backbones, without exporting anything.

import { Backbone } from '../graphs/backbones/index.ts';
import type { GraphDef } from '../graphs/graph.ts';
import { numel } from '../graphs/module.ts';
import type { Tensor } from '../graphs/ops.ts';
import { CostOps, stageCosts, type StageCost } from './flops.ts';

export interface GraphSummary {
  graph: string;
  method: string;
  input: number[];
  /** Trainable parameters (buffers such as BN running statistics excluded). */
  parameters: number;
  /** Buffers (BN running statistics). */
  buffers: number;
  macs: number;
  /** 2 · MACs. */
  flops: number;
  outputs: { name: string; shape: number[] }[];
  /** Backbones: cost per exposed stage, in forward order. */
  stages: (StageCost & { channels: number; stride: number })[] | null;
}

export function inspectGraph(graph: GraphDef, inputSize: [number, number], batch = 1): GraphSummary {
  const params = graph.module.parameters();
  const count = (buffers: boolean) => params.filter((p) => p.spec.buffer === buffers).reduce((n, p) => n + numel(p.shape), 0);
  const ops = new CostOps();
  const inputs: Record<string, Tensor> = {};
  const input = [batch, graph.inputs[0]?.channels ?? 3, ...inputSize];
  for (const spec of graph.inputs) inputs[spec.name] = ops.input([batch, spec.channels, ...inputSize]);
  const outs = graph.inference(ops, inputs);
  const net = graph.module;
  const stages =
    net instanceof Backbone
      ? stageCosts(net, input).map((c) => {
          const st = net.stage(c.name);
          return { ...c, channels: st.channels, stride: st.stride };
        })
      : null;
  return {
    graph: graph.name,
    method: graph.method,
    input,
    parameters: count(false),
    buffers: count(true),
    macs: ops.tally.macs,
    flops: 2 * ops.tally.macs,
    outputs: graph.outputs.map((o) => ({ name: o.name, shape: ops.shape(outs[o.name]) as number[] })),
    stages,
  };
}

const g = (n: number) => `${(n / 1e9).toFixed(3)} G`;

export function formatGraphSummary(s: GraphSummary): string {
  const lines = [
    `${s.graph} (${s.method}) at input [${s.input.join(', ')}]`,
    `parameters: ${s.parameters.toLocaleString('en-US')} (+ ${s.buffers.toLocaleString('en-US')} buffer values)`,
    `cost of the exported outputs: ${g(s.macs)}MACs = ${g(s.flops)}FLOPs (convolutions and matrix products; FLOPs = 2·MACs)`,
    'outputs:',
    ...s.outputs.map((o) => `  ${o.name}  [${o.shape.join(', ')}]`),
  ];
  if (s.stages) {
    lines.push('stages (MACs since the previous stage, cumulative):');
    for (const st of s.stages)
      lines.push(`  ${st.name.padEnd(10)} [${st.shape.join(', ')}]${st.stride ? ` stride ${st.stride}` : ''}  ${g(st.macs)}MACs  (${g(st.cumulativeMacs)}MACs)`);
  }
  return lines.join('\n');
}
