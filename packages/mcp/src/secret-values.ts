/**
 * The shortest value masked as a secret. Shorter ones (`true`, `1`, `info`, `8080`) are ordinary words
 * that masking would blank out all over a server's stderr, and are too short to be a real token.
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * The shortest value masked when its place says it is a secret (an env variable named like
 * `GITHUB_TOKEN` or `DB_PASSWORD`, a header, a URL's password): a short password is still a password.
 */
export const MIN_NAMED_SECRET_LENGTH = 4;

/** Env variable names that say their value is a secret. */
const SECRET_NAME = /token|secret|passw|pwd|key|auth|credential|cookie|session/i;

/** True when an env variable's name says its value is a secret (`API_KEY`, `PGPASSWORD`, `GH_TOKEN`). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * True when `value` is long enough to be a secret: the one rule for env, args, header and URL values;
 * `named` when its place says it is one (see {@link MIN_NAMED_SECRET_LENGTH}).
 */
export function canBeSecret(value: string, named = false): boolean {
  return value.length >= (named ? MIN_NAMED_SECRET_LENGTH : MIN_SECRET_LENGTH);
}

/**
 * The values that {@link canBeSecret}, without repeats, longest first (so that a secret containing
 * another is masked whole): `values` by the general rule, `namedSecrets` by the shorter one.
 */
export function secretsToMask(values: Iterable<string>, namedSecrets: Iterable<string> = []): string[] {
  const kept = new Set<string>();
  for (const value of values) if (canBeSecret(value)) kept.add(value);
  for (const value of namedSecrets) if (canBeSecret(value, true)) kept.add(value);
  return [...kept].sort((left, right) => right.length - left.length);
}
