#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx's loader, so there is no
// build step that could leave a stale copy behind.
import { register } from 'tsx/esm/api';

register();
// The entry point owns the profile registry: harness/ never imports scenarios/.
const { registerProfiles } = await import('../harness/profiles.ts');
const { profiles } = await import('../scenarios/index.ts');
registerProfiles(profiles);
const { main, installSignalHandlers } = await import('../harness/cli.ts');
installSignalHandlers();
process.exitCode = await main(process.argv);
