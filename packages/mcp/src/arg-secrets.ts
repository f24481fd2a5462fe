/**
 * The values `${VAR}` references put into a stdio entry's `args` (a token passed as `--token
 * ${GH_TOKEN}`, a bridge's `--header "Authorization: Bearer ${TOKEN}"`): masked in every log line
 * like the entry's `env` values. Kept beside the parsed entry, not in it, so the config's shape stays
 * the file's.
 */
const secretsByEntry = new WeakMap<object, readonly string[]>();

/** Remembers the variable values expanded into `entry`'s arguments. */
export function rememberArgSecrets(entry: object, values: readonly string[]): void {
  if (values.length > 0) secretsByEntry.set(entry, values);
}

/** The variable values expanded into `entry`'s arguments (none for an entry not from a file). */
export function argSecretsOf(entry: object): readonly string[] {
  return secretsByEntry.get(entry) ?? [];
}
