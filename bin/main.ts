// The CLI's entry point, run by bin/restore-drill.mjs (bundled, or from these
// sources through tsx). It owns the profile registry: harness/ never imports
// scenarios/.
import { registerProfiles } from '../harness/profiles.ts';
import { profiles } from '../scenarios/index.ts';
import { installSignalHandlers, main } from '../harness/cli.ts';

registerProfiles(profiles);
installSignalHandlers();
const code = await main(process.argv);
process.exitCode = code;
// The outcome is decided: whatever might still hold the event loop (a socket
// to an engine that never answers) must not keep the process or change its code.
setTimeout(() => process.exit(code), 1_000).unref();
