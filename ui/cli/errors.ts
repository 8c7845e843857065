/** Wrong use of the CLI: exit 2. */
export class UsageError extends Error {}
/** Bad input or a failed check: exit 1. */
export class InputError extends Error {}
