// Bundled by test/web/crf-browser.test.ts for Chromium: the runtime's CRF API, nothing else.
import { denseCrf } from '../../runtime/crf/dense-crf.ts';
import { crfParams } from '../../runtime/crf/params.ts';
import { argmaxLabels } from '../../runtime/crf/unaries.ts';
import { instantiateWasmCrf } from '../../runtime/crf/wasm-engine.ts';

(globalThis as unknown as { __crf: unknown }).__crf = { denseCrf, crfParams, argmaxLabels, instantiateWasmCrf };
