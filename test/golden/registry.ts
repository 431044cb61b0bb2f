// Which golden-vector `module`s the project implements, and the adapter that runs each.
// An adapter feeds the file's inputs to the project's real implementation (graph code through
// an interpreter, or runtime code) and returns the outputs it computes, in NCHW layout.
// Add one line per module; the adapters live in ./modules/<module>.ts.

import type { GoldenImpl } from './vector.ts';

export const goldenModules: Record<string, () => Promise<GoldenImpl>> = {
  // module name: () => import('./modules/<module>.ts').then((m) => m.run),
  vwe_cam_inference: () => import('./modules/vwe_cam_inference.ts').then((m) => m.run),
  onestage_ms_merge: () => import('./modules/onestage_ms_merge.ts').then((m) => m.run),
  cam_multiscale: () => import('./modules/cam_multiscale.ts').then((m) => m.run),
  onestage_baseline_cam: () => import('./modules/onestage_baseline_cam.ts').then((m) => m.run),
  edam_da_layer: () => import('./modules/edam_da_layer.ts').then((m) => m.run),
  edam_cma: () => import('./modules/edam_cma.ts').then((m) => m.run),
  edam_postprocess: () => import('./modules/edam_postprocess.ts').then((m) => m.run),
  cam_multiscale_edam: () => import('./modules/cam_multiscale_edam.ts').then((m) => m.run),
  multilabel_soft_margin: () => import('./modules/multilabel_soft_margin.ts').then((m) => m.run),
  miou: () => import('./modules/miou.ts').then((m) => m.run),
  hspp: () => import('./modules/hspp.ts').then((m) => m.run),
  vwe_encoder: () => import('./modules/vwe_encoder.ts').then((m) => m.run),
  vwe_net_forward: () => import('./modules/vwe_net_forward.ts').then((m) => m.run),
  pamr: () => import('./modules/pamr.ts').then((m) => m.run),
  ngwp_focal: () => import('./modules/ngwp_focal.ts').then((m) => m.run),
  stage_net_train_forward: () => import('./modules/stage_net_train_forward.ts').then((m) => m.run),
  pseudo_gt_from_pamr: () => import('./modules/pseudo_gt_from_pamr.ts').then((m) => m.run),
  balanced_ce_loss: () => import('./modules/balanced_ce_loss.ts').then((m) => m.run),
  sg_gci: () => import('./modules/sg_gci.ts').then((m) => m.run),
};
