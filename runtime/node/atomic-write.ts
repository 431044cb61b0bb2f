// Moved to runtime/node/files/atomic-write.ts. This re-export only keeps train/data/synth/write-dataset.ts
// (changed on another branch at the same time) building; remove it once that file imports the new path.
export * from './files/atomic-write.ts';
