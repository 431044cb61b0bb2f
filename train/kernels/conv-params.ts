// tfjs convolution geometry → the Int32Array layout of wk_conv (native/wk.h), which both
// engines read. Padding arrives resolved: tfjs's computeConv2DInfo turns 'same', 'valid',
// explicit pads and rounding modes into a top/left offset and an output size.

import type { backend_util } from '@tensorflow/tfjs-core';

export const CONV_FIELDS = 16;

/** Field indices of the packed geometry, in wk_conv order. */
export enum ConvField {
  Batch, InH, InW, InC, OutH, OutW, OutC, KH, KW, StrideH, StrideW, DilH, DilW, PadTop, PadLeft, Mult,
}

export function convParams(info: backend_util.Conv2DInfo, depthwise = false): Int32Array {
  const p = new Int32Array(CONV_FIELDS);
  p[ConvField.Batch] = info.batchSize;
  p[ConvField.InH] = info.inHeight;
  p[ConvField.InW] = info.inWidth;
  p[ConvField.InC] = info.inChannels;
  p[ConvField.OutH] = info.outHeight;
  p[ConvField.OutW] = info.outWidth;
  p[ConvField.OutC] = info.outChannels;
  p[ConvField.KH] = info.filterHeight;
  p[ConvField.KW] = info.filterWidth;
  p[ConvField.StrideH] = info.strideHeight;
  p[ConvField.StrideW] = info.strideWidth;
  p[ConvField.DilH] = info.dilationHeight;
  p[ConvField.DilW] = info.dilationWidth;
  p[ConvField.PadTop] = info.padInfo.top;
  p[ConvField.PadLeft] = info.padInfo.left;
  p[ConvField.Mult] = depthwise ? info.outChannels / info.inChannels : 1;
  return p;
}

/** Packed matmul parameters, in wk_matmul order. */
export function matmulParams(
  batch: number, batchA: number, batchB: number, m: number, n: number, k: number,
  transA: boolean, transB: boolean, biasLen: number,
): Int32Array {
  return Int32Array.of(batch, batchA, batchB, m, n, k, transA ? 1 : 0, transB ? 1 : 0, biasLen);
}
