import type { Profile } from '../harness/profile.ts';
import { z4jProfile } from './z4j/index.ts';
import { hiveloomProfile } from './hiveloom/index.ts';

/** Every application profile restore-drill knows. Adding one is adding a folder and a line here. */
export const profiles: Profile[] = [z4jProfile, hiveloomProfile];
