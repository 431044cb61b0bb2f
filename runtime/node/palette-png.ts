// Moved to runtime/node/files/palette-png.ts. This re-export only keeps train/data/synth/write-dataset.ts
// (changed on another branch at the same time) building; remove it once that file imports the new path.
export * from './files/palette-png.ts';
