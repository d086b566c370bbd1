/** The z4j release drills and images default to (the current one on PyPI when pinned). */
export const Z4J_PINNED_VERSION = '1.13.0';
/** An older release, used by the tests that drill a manifest recording an older version. */
export const Z4J_OLDER_VERSION = '1.12.1';
