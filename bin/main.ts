// The CLI's entry point, run by bin/restore-drill.mjs (bundled, or from these
// sources through tsx). It owns the profile registry: harness/ never imports
// scenarios/.
import { registerProfiles } from '../harness/profiles.ts';
import { profiles } from '../scenarios/index.ts';
import { installSignalHandlers, main } from '../harness/cli.ts';

registerProfiles(profiles);
installSignalHandlers();
process.exitCode = await main(process.argv);
