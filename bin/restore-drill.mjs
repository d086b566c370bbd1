#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx's loader, so there is no
// build step that could leave a stale copy behind.
import { register } from 'tsx/esm/api';

register();
const { main, installSignalHandlers } = await import('../harness/cli.ts');
installSignalHandlers();
process.exitCode = await main(process.argv);
