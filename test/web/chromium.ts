// Launching Debian's chromium for browser tests through playwright-core (never a downloaded
// browser): headless, no network services, a fresh profile per launch.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is not installed (apt-get install chromium; .ci/run does this)`;
}

export interface LaunchedChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** `webgpu`: expose Chromium's WebGPU (a software SwiftShader adapter on machines without a GPU). */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<LaunchedChromium> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'wsss-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (options.webgpu) args.push('--enable-unsafe-webgpu');
  // playwright-core takes the profile directory here rather than as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args, headless: true, viewport: { width: 1280, height: 800 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
