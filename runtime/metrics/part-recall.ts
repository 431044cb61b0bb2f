// Recall of a map on an object's discriminative part versus the rest of its body. The synthetic
// benchmark stores, per image, a part mask (PartMasks/*.png) telling which object pixels are the
// class-identifying "head" and which the larger "body"; a CAM that only lights up the most
// discriminative part shows high head recall and low body recall, and methods that fix that
// raise body recall. Part codes below are the values of those PNGs.

/** Values of a part mask. Distractors are headless shapes of no class (label 0 in the segmentation). */
export const PART = { background: 0, body: 1, head: 2, distractor: 3, ignore: 255 } as const;

export interface PartRecall {
  hits: number;
  total: number;
  /** hits / total, NaN when there were no such pixels. */
  recall: number;
}

export interface PartRecallResult {
  head: PartRecall;
  body: PartRecall;
  /** Fraction of background (incl. distractor) pixels that were hit: the price of the recall. */
  falsePositiveRate: number;
  /** Fraction of distractor pixels that were hit. */
  distractorHitRate: number;
}

/** Accumulates head/body recall over images. A pixel is "hit" when the caller's test says so. */
export class PartRecallCounter {
  private headHits = 0;
  private headTotal = 0;
  private bodyHits = 0;
  private bodyTotal = 0;
  private bgHits = 0;
  private bgTotal = 0;
  private distractorHits = 0;
  private distractorTotal = 0;

  /** hit[i] truthy = pixel i is covered (a binary mask, or any 0/1 map). */
  addHitMask(hit: ArrayLike<number | boolean>, parts: ArrayLike<number>): void {
    if (hit.length !== parts.length) throw new Error(`PartRecallCounter: map has ${hit.length} pixels, part mask ${parts.length}`);
    for (let i = 0; i < parts.length; i++) this.count(parts[i], !!hit[i]);
  }

  /** A score map (e.g. a CAM of the object's class, normalised to [0,1]) is a hit where score > threshold. */
  addScoreMap(scores: ArrayLike<number>, parts: ArrayLike<number>, threshold: number): void {
    if (scores.length !== parts.length) throw new Error(`PartRecallCounter: map has ${scores.length} pixels, part mask ${parts.length}`);
    for (let i = 0; i < parts.length; i++) this.count(parts[i], scores[i] > threshold);
  }

  /**
   * A predicted label map: an object pixel is a hit when it is predicted as its ground-truth class,
   * a background pixel when it is predicted as any class.
   */
  addLabelMap(pred: ArrayLike<number>, gt: ArrayLike<number>, parts: ArrayLike<number>): void {
    if (pred.length !== parts.length || gt.length !== parts.length)
      throw new Error(`PartRecallCounter: prediction ${pred.length}, ground truth ${gt.length}, part mask ${parts.length} pixels`);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const objectPixel = p === PART.head || p === PART.body;
      this.count(p, objectPixel ? pred[i] === gt[i] : pred[i] !== 0);
    }
  }

  private count(part: number, hit: boolean): void {
    const h = hit ? 1 : 0;
    switch (part) {
      case PART.head:
        this.headHits += h;
        this.headTotal++;
        break;
      case PART.body:
        this.bodyHits += h;
        this.bodyTotal++;
        break;
      case PART.distractor:
        this.distractorHits += h;
        this.distractorTotal++;
        this.bgHits += h;
        this.bgTotal++;
        break;
      case PART.background:
        this.bgHits += h;
        this.bgTotal++;
        break;
      default: // ignore band and unknown codes are not scored
        break;
    }
  }

  result(): PartRecallResult {
    const r = (hits: number, total: number): PartRecall => ({ hits, total, recall: total ? hits / total : NaN });
    return {
      head: r(this.headHits, this.headTotal),
      body: r(this.bodyHits, this.bodyTotal),
      falsePositiveRate: this.bgTotal ? this.bgHits / this.bgTotal : NaN,
      distractorHitRate: this.distractorTotal ? this.distractorHits / this.distractorTotal : NaN,
    };
  }
}
