// Types of build-wasm.mjs (imported by test/crf/wasm-build.test.ts).
export const WASM_SOURCES: string[];
export function sourceHash(): string;
