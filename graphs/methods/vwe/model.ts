// The VWE network (Ru et al., IJCAI'21, Fig. 2; SPEC.md §2.1–2.3) over any backbone's final
// features F:
//   image branch        scores = classifier(HSPP(F))            vs the image labels
//   word-to-image       fc_a(word frequencies of F)              vs the image labels
//   word branch         fc_b(GAP(F))                             vs the word labels
// All heads are bias-free 1×1 convolutions. Without the visual words (option) only the image
// branch remains; without HSPP the image branch pools by GAP — the two ablations of Table 1.
//
// CAM (Eq. 10–12): the image branch ReLU(W_img·F), and the word branch ReLU(Σ_k W_w2i[k,c]·P[k]),
// the soft assignment weighted by the word-to-image classifier; with mean frequencies the word
// CAM's average over the pixels is exactly that classifier's logit. The paper's CAM is their
// element-wise max ('two-branch', default); the official inference uses the image branch only
// ('image'); the word branch alone ('words') is there to see what the words learned.

import { TAP_FINAL, type Backbone } from '../../backbones/backbone.ts';
import { CamHead } from '../../cam-head.ts';
import { type GraphDef, rgbImageModelFields } from '../../graph.ts';
import { hspp } from '../../hspp.ts';
import { Conv2d } from '../../layers.ts';
import { Module } from '../../module.ts';
import type { Ops, Tensor } from '../../ops.ts';
import type { LabelRuleSpec, TrainBatch, TrainOutputs } from '../method.ts';
import { codebookDecorrelation, imageLoss, wordLoss, wordPredictionEntropy, wordToImageLoss } from './losses.ts';
import { VisualWordEncoder, type WordEncoding, type WordFrequency } from './visual-words.ts';

export type VweCam = 'two-branch' | 'image' | 'words';

export interface VweConfig {
  /** Visual words (encoder, word-to-image and word classifiers, their losses) on. */
  words: boolean;
  /** K, the codebook size. */
  wordCount: number;
  frequency: WordFrequency;
  /** HSPP (true) or GAP (false) before the image classifier. */
  hspp: boolean;
  hsppGamma: number;
  cam: VweCam;
  /** Weights of the word-to-image and word losses, and of v2's codebook decorrelation (0: off). */
  w2iWeight: number;
  wordWeight: number;
  decovWeight: number;
}

export interface VweBranches {
  /** Image-classifier logits [N, C]. */
  scores: Tensor;
  words?: { encoding: WordEncoding; histLogits: Tensor; wordLogits: Tensor };
}

export class VweNet extends Module {
  readonly backbone: Backbone;
  readonly head: CamHead;
  readonly words: VisualWordEncoder | null = null;
  /** The word-to-image classifier (the code's fc_a), K → C. */
  readonly w2i: Conv2d | null = null;
  /** The word classifier (the code's fc_b), D → K. */
  readonly wordClassifier: Conv2d | null = null;

  constructor(
    backbone: Backbone,
    readonly numClasses: number,
    readonly cfg: VweConfig,
  ) {
    super();
    const d = backbone.tap(TAP_FINAL).channels;
    this.backbone = this.child('backbone', backbone);
    this.head = this.child('head', new CamHead(d, numClasses));
    if (cfg.words) {
      this.words = this.child('words', new VisualWordEncoder(cfg.wordCount, d));
      this.w2i = this.child('w2i', new Conv2d(cfg.wordCount, numClasses, 1, { bias: false }));
      this.wordClassifier = this.child('word_classifier', new Conv2d(d, cfg.wordCount, 1, { bias: false }));
    }
  }

  features(ops: Ops, image: Tensor): Tensor {
    return this.backbone.finalFeatures(ops, image);
  }

  /** Image-branch class logits [N, C]: the classifier on HSPP (or GAP) of the features. */
  scores(ops: Ops, features: Tensor): Tensor {
    const pooled = this.cfg.hspp ? hspp(ops, features, this.cfg.hsppGamma) : ops.globalAvgPool(features);
    return ops.reshape(this.head.classifier.forward(ops, pooled), [0, -1]);
  }

  /** Raw CAMs at feature resolution [N, C, h, w]: the image branch, or its max with the word branch. */
  rawCams(ops: Ops, features: Tensor): Tensor {
    if (this.cfg.cam === 'image' || !this.words) return this.head.rawCams(ops, features);
    const words = ops.relu(this.w2i!.forward(ops, this.words.encode(ops, features, this.cfg.frequency).assignment));
    return this.cfg.cam === 'words' ? words : ops.maximum(this.head.rawCams(ops, features), words);
  }

  /** Every branch's logits on features [N, D, h, w]: image [N, C]; with the words also word-to-image [N, C], word [N, K] and the encoding. */
  branches(ops: Ops, features: Tensor): VweBranches {
    const scores = this.scores(ops, features);
    if (!this.words) return { scores };
    const encoding = this.words.encode(ops, features, this.cfg.frequency);
    const histLogits = ops.reshape(this.w2i!.forward(ops, encoding.frequency), [0, -1]);
    const wordLogits = ops.reshape(this.wordClassifier!.forward(ops, ops.globalAvgPool(features)), [0, -1]);
    return { scores, words: { encoding, histLogits, wordLogits } };
  }

  /** The weighted loss terms of the branches against image labels [N, C], and what shows whether the words learn. */
  losses(ops: Ops, b: VweBranches, labels: Tensor): TrainOutputs {
    const losses: Record<string, Tensor> = { cls: imageLoss(ops, b.scores, labels) };
    const logs: Record<string, Tensor> = {};
    if (b.words) {
      const { encoding, histLogits, wordLogits } = b.words;
      const weighted = (loss: Tensor, w: number) => (w === 1 ? loss : ops.mul(loss, w));
      losses.w2i = weighted(wordToImageLoss(ops, histLogits, labels), this.cfg.w2iWeight);
      losses.word = weighted(wordLoss(ops, wordLogits, encoding.labels), this.cfg.wordWeight);
      if (this.cfg.decovWeight > 0) losses.decov = weighted(codebookDecorrelation(ops, ops.param(this.words!.codebook)), this.cfg.decovWeight);
      logs.words_per_image = ops.reduceMean(ops.reduceSum(encoding.labels, [1]), [0]);
      logs.assignment_peak = ops.reduceMean(ops.reduceMax(encoding.assignment, [1]), [0, 1, 2]);
      logs.word_entropy = wordPredictionEntropy(ops, wordLogits);
    }
    return { losses, logs };
  }

  /** Training forward: the image loss, and with the visual words the word-to-image and word losses. */
  training(ops: Ops, batch: TrainBatch): TrainOutputs {
    return this.losses(ops, this.branches(ops, this.features(ops, batch.image)), batch.labels);
  }

  /** The loss terms a training stage minimises. */
  lossNames(): string[] {
    if (!this.words) return ['cls'];
    return ['cls', 'w2i', 'word', ...(this.cfg.decovWeight > 0 ? ['decov'] : [])];
  }
}

/** VWE's pseudo-labelling (SPEC.md §2.5): scales 1, 0.5, 1.5, 2 with flips, max over a view and its
 * flip, sum over scales, background score 0.14 (configs/voc.yaml). */
export const VWE_LABEL_RULE: LabelRuleSpec = { kind: 'multiscale-cam', merge: 'max-flip-sum', bg_threshold: 0.14 };

export function vweGraph(net: VweNet, name: string, classNames: string[]): GraphDef {
  const wordCam = 'ReLU(w2i(word assignment))';
  const branches =
    net.cfg.cam === 'image' || !net.words ? 'ReLU(classifier(features)) (image branch)' : net.cfg.cam === 'words' ? `${wordCam} (word branch)` : `max(ReLU(classifier(features)), ${wordCam}) (image and word branches)`;
  return {
    name,
    method: 'vwe',
    module: net,
    ...rgbImageModelFields(net.backbone.outputStride),
    outputs: [
      { name: 'scores', meaning: `class logits [N, C] of the image classifier on ${net.cfg.hspp ? 'HSPP' : 'GAP'} features (multi-label; sigmoid for probabilities)` },
      { name: 'cams', meaning: 'CAMs [N, C, H, W] at input size: raw_cams bilinearly (half-pixel) upsampled, each class divided by (max + 1e-5)' },
      { name: 'raw_cams', meaning: `CAMs [N, C, h, w] at feature resolution (stride ${net.backbone.outputStride}): ${branches}, unnormalised, for multi-scale aggregation` },
    ],
    classNames,
    labelRule: VWE_LABEL_RULE,
    inference(ops: Ops, inputs: Record<string, Tensor>) {
      const image = inputs.image;
      const features = net.features(ops, image);
      const raw = net.rawCams(ops, features);
      return { scores: net.scores(ops, features), cams: net.head.normalisedCams(ops, raw, image), raw_cams: raw };
    },
  };
}
