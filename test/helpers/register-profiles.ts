// Every test process knows the profiles, as bin/main.ts registers them.
import { registerProfiles } from '../../harness/profiles.ts';
import { profiles } from '../../scenarios/index.ts';

registerProfiles(profiles);
