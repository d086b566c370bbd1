#!/usr/bin/env node
// The CLI is written in TypeScript (entry: bin/main.ts). It runs from a bundle
// of those sources that is checked against them at every start and remade when
// any differs (bin/cli-bundle.mjs), or, where no bundle can be made, or with
// RESTORE_DRILL_BUNDLE=0, from the sources themselves through tsx's loader.
import createDebug from 'debug';
import { cliBundle } from './cli-bundle.mjs';

const bundle = process.env.RESTORE_DRILL_BUNDLE === '0' ? null : await cliBundle({ say: createDebug('restore-drill:cli') });
if (bundle) {
  await import(bundle.url);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
