// Every test process knows the profiles, as bin/restore-drill.mjs registers them.
import { registerProfiles } from '../../harness/profiles.ts';
import { profiles } from '../../scenarios/index.ts';

registerProfiles(profiles);
