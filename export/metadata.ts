// The metadata an exported model carries: the runtime's contract keys (runtime/model-metadata.ts,
// which the runtime reads without importing export/) plus the exporter's own provenance.

import { readFileSync } from 'node:fs';
import type { GraphDef } from '../graphs/graph.ts';
import { metadataProps } from '../runtime/model-metadata.ts';

/** Provenance key: the wsss version that wrote the file (informational; the runtime ignores it). */
export const WSSS_VERSION_KEY = 'wsss_version';

let cachedVersion: string | undefined;

/** The package version, read from package.json next to the sources. */
export function wsssVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  }
  return cachedVersion;
}

/** metadata_props of the exported model of `graph` (class names may be overridden, e.g. by --classes). */
export function exportMetadata(graph: GraphDef, classNames: string[] = graph.classNames): Record<string, string> {
  return {
    ...metadataProps({
      method: graph.method,
      graph: graph.name,
      classNames,
      normalisation: graph.normalisation,
      inputConvention: graph.inputConvention,
      outputs: graph.outputs,
      outputStride: graph.outputStride,
      labelRule: graph.labelRule ?? null,
    }),
    [WSSS_VERSION_KEY]: wsssVersion(),
  };
}
