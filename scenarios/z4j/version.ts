/** The z4j release drills and images default to (the current one on PyPI when pinned). */
export const Z4J_PINNED_VERSION = '1.13.0';
/** An older release with the same migration head: a manifest recording it is drilled with its image, and it gates to the pinned one. */
export const Z4J_OLDER_VERSION = '1.12.1';
/** A release whose migration head (v1_11_audit_append_tally) predates the pinned one's: it cannot take the pinned version's data. */
export const Z4J_BEFORE_SCHEMA_VERSION = '1.11.0';
/**
 * The first release with the authenticated audit chain (audit_chain_state):
 * the oldest a drill handles. 1.8.0 words `z4j status` and `z4j audit verify`
 * differently from 1.9.0 and newer (scenarios/z4j/parse.ts).
 */
export const Z4J_FIRST_CHAIN_VERSION = '1.8.0';
/** The release after it, the first with today's wording. */
export const Z4J_SECOND_CHAIN_VERSION = '1.9.0';
