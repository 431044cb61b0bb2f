#!/usr/bin/env node
// The `wsss` command. The sources are TypeScript, run through tsx's loader (no build step),
// so `npx wsss` works straight after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
