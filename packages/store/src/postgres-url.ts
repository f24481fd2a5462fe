/** Where a PostgreSQL URL points, for postgres.js. */
export interface PostgresTarget {
  /** The URL to give postgres.js (without a `host` query parameter that named a socket folder). */
  url: string;
  /** The folder of the server's Unix socket (`/var/run/postgresql`), when the URL names one. */
  socketFolder?: string;
  /** Whether the URL names one server (several hosts, `h1:5432,h2:5432`, are not a WHATWG URL). */
  oneServer: boolean;
}

/**
 * Reads a Unix socket folder from a PostgreSQL URL in either of libpq's forms, a percent-encoded
 * host (`postgres://haia@%2Fvar%2Frun%2Fpostgresql/haia`) or a `host` query parameter
 * (`postgres://haia@localhost/haia?host=/var/run/postgresql`). postgres.js reads neither: it
 * resolved the first as a host name and sent the second to the server as a setting, which refused
 * it. The folder goes to postgres.js as its `host` option instead. Any other URL is left as it is.
 */
export function postgresTarget(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Several hosts (`h1:5432,h2:5432`) are not a WHATWG URL: postgres.js reads those itself.
    return { url, oneServer: false };
  }
  const fromQuery = parsed.searchParams.get('host');
  if (fromQuery?.startsWith('/')) {
    parsed.searchParams.delete('host');
    return { url: parsed.toString(), socketFolder: fromQuery, oneServer: true };
  }
  if (/^%2f/i.test(parsed.hostname)) {
    return { url, socketFolder: decodeURIComponent(parsed.hostname), oneServer: true };
  }
  return { url, oneServer: true };
}
