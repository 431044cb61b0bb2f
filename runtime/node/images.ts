// Moved to runtime/node/dataset/images.ts. This re-export only keeps train/data/synth/write-dataset.ts
// (changed on another branch at the same time) building; remove it once that file imports the new path.
export * from './dataset/images.ts';
