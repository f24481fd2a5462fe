const SECRET_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_*-]{6,}/g, // OpenAI / Anthropic style keys (also masked ones like sk-ab***yz)
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /(Bearer\s+)[^\s"',;]+/gi,
  // The user and password of a URL (a base URL behind a basic-auth proxy): `http://[redacted]@host`.
  /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+(?=@)/gi,
];

/**
 * Removes secrets from a text: every occurrence of the given values (4 characters or longer),
 * anything shaped like an API key or a bearer token, and the credentials in a URL.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) =>
      typeof prefix === 'string' ? `${prefix}[redacted]` : '[redacted]',
    );
  }
  return out;
}
