// The PASCAL VOC colour map: label i is drawn in the colour whose bits come from interleaving
// the bits of i over the R, G and B channels, most significant first (label 1 = dark red,
// 255 = the cream colour VOC uses for its "ignore" border). Label PNGs of VOC, SBD and our
// synthetic benchmark use this palette, so the same function serves reading, writing and
// drawing (node and browser alike).

/** RGB triples for labels 0..n-1, flat (3·n bytes). */
export function vocPalette(n = 256): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let label = 0; label < n; label++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = label;
    // Bit k of each channel (from the top, bit 7 down) takes the (3·j + channel)-th bit of the label.
    for (let j = 0; j < 8 && c > 0; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    out[label * 3] = r;
    out[label * 3 + 1] = g;
    out[label * 3 + 2] = b;
  }
  return out;
}

/** The label whose VOC colour is (r, g, b), or -1; inverse of vocPalette(256) (colours are unique). */
export function vocLabelOfColour(r: number, g: number, b: number): number {
  return COLOUR_TO_LABEL.get((r << 16) | (g << 8) | b) ?? -1;
}

const COLOUR_TO_LABEL: Map<number, number> = (() => {
  const p = vocPalette(256);
  const m = new Map<number, number>();
  for (let i = 0; i < 256; i++) m.set((p[i * 3] << 16) | (p[i * 3 + 1] << 8) | p[i * 3 + 2], i);
  return m;
})();

/** The 20 PASCAL VOC object classes, in label order (label i + 1), without background. */
export const VOC_CLASS_NAMES: readonly string[] = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** The label of pixels that are not evaluated (object borders, unclear regions). */
export const IGNORE_LABEL = 255;
