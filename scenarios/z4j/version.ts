/** The z4j release drills and images default to (the current one on PyPI when pinned). */
export const Z4J_PINNED_VERSION = '1.13.0';
/** An older release with the same migration head: a manifest recording it is drilled with its image, and it gates to the pinned one. */
export const Z4J_OLDER_VERSION = '1.12.1';
/** A release whose migration head (v1_11_audit_append_tally) predates the pinned one's: it cannot take the pinned version's data. */
export const Z4J_BEFORE_SCHEMA_VERSION = '1.11.0';
