import { ProxmoxError } from './proxmox-error.js';

/** Error codes of Node's TLS stack that mean the server certificate was not trusted. */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Codes of a trusted certificate that names other hosts than the URL's. */
const NAME_MISMATCH_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

const AUDITOR_HINT = 'the token needs the PVEAuditor role on / (read-only)';

/** Turns a non-2xx answer into a {@link ProxmoxError} that carries Proxmox's reason phrase. */
export function errorForStatus(options: {
  status: number;
  reason: string;
  body: string;
  path: string;
  tokenId: string;
}): ProxmoxError {
  const { status, path } = options;
  const parsed = parseErrorBody(options.body);
  const text = options.reason.trim() || parsed.message || `HTTP ${status}`;
  const common = { status, reason: options.reason.trim() || undefined, path, errors: parsed.errors };
  const node = /^\/nodes\/([^/]+)/.exec(path)?.[1];
  if (status === 401) {
    return new ProxmoxError({
      ...common,
      code: 'auth',
      message: `Proxmox rejected the API token (401 ${text}): check PROXMOX_TOKEN_ID (user@realm!tokenname) and PROXMOX_TOKEN_SECRET; ${AUDITOR_HINT}.`,
    });
  }
  if (status === 403) {
    return new ProxmoxError({
      ...common,
      code: 'permission',
      message: `Proxmox denied ${path} (403 ${text}): give the PVEAuditor role on / to the token's user and, with privilege separation, to the token too, since its rights are the intersection of both (pveum acl modify / --users '${tokenUser(options.tokenId)}' --roles PVEAuditor; pveum acl modify / --tokens '${options.tokenId}' --roles PVEAuditor).`,
    });
  }
  if (status === 595 || status === 596) {
    return new ProxmoxError({
      ...common,
      code: 'node-offline',
      message: `Node ${node ?? '(unknown)'} is unreachable (${status} ${text}): it is probably offline, or the node that answered cannot reach it.`,
    });
  }
  if (
    /binary not installed|pveceph configuration not initialized|ceph.*not (installed|initialized)/i.test(text)
  ) {
    return new ProxmoxError({
      ...common,
      code: 'not-found',
      message: `Ceph is not installed or not set up on this cluster (${status} ${text}).`,
    });
  }
  if (status === 500 && /^hostname lookup '.*' failed/.test(text)) {
    return new ProxmoxError({
      ...common,
      code: 'not-found',
      message: `The cluster has no node ${node ?? ''} (${status} ${text}).`,
    });
  }
  if (status === 404 || status === 501 || (status === 500 && /does not exist/.test(text))) {
    return new ProxmoxError({
      ...common,
      code: 'not-found',
      message: `Proxmox has no ${path} (${status} ${text}).`,
    });
  }
  const details = parsed.errors
    ? ` (${Object.entries(parsed.errors)
        .map(([key, value]) => `${key}: ${value}`)
        .join('; ')})`
    : '';
  return new ProxmoxError({
    ...common,
    code: 'bad-response',
    message: `Proxmox answered ${status} ${text} for ${path}${details}.`,
  });
}

/** The user of a token id: `haia@pve` of `haia@pve!monitor`. */
function tokenUser(tokenId: string): string {
  const bang = tokenId.lastIndexOf('!');
  return bang === -1 ? tokenId : tokenId.slice(0, bang);
}

function parseErrorBody(body: string): { message?: string; errors?: Record<string, string> } {
  if (!body.trim()) return {};
  try {
    const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
    const message = typeof parsed.message === 'string' ? parsed.message.trim() : undefined;
    const errors =
      parsed.errors && typeof parsed.errors === 'object'
        ? Object.fromEntries(Object.entries(parsed.errors).map(([key, value]) => [key, String(value).trim()]))
        : undefined;
    return { ...(message ? { message } : {}), ...(errors ? { errors } : {}) };
  } catch {
    return {};
  }
}

/** The innermost `code` of an error chain (fetch wraps socket errors in `TypeError: fetch failed`). */
function errorCode(error: unknown): { code: string | undefined; message: string } {
  let current: unknown = error;
  let found: { code: string | undefined; message: string } = {
    code: undefined,
    message: error instanceof Error ? error.message : String(error),
  };
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') found = { code, message: current.message };
    current = current.cause;
  }
  return found;
}

/**
 * The {@link ProxmoxError} of a redirect, which the client never follows: pveproxy answers plain http
 * on 8006 with a 301 to https, and a reverse proxy may send the API to a login page.
 */
export function errorForRedirect(options: {
  origin: string;
  path: string;
  status: number;
  location: string | null;
}): ProxmoxError {
  const { origin, path, status } = options;
  let target: URL | undefined;
  try {
    target = options.location ? new URL(options.location, `${origin}/`) : undefined;
  } catch {
    target = undefined;
  }
  // Only where it points, never its query (a login page may carry a token there).
  const where = target ? `${target.origin}${target.pathname}` : 'another address';
  const toHttps = origin.startsWith('http:') && target?.protocol === 'https:';
  return new ProxmoxError({
    code: 'network',
    status,
    path,
    message: toHttps
      ? `Proxmox at ${origin} redirected ${path} to https (${status}): it serves its API only over https, so set PROXMOX_URL to ${target ? target.origin : 'https://host:8006'}. The API token went over plain http once; regenerate it if the network is not trusted.`
      : `Proxmox at ${origin} answered ${path} with a redirect (${status}) to ${where}, which the client does not follow: set PROXMOX_URL to the API itself (https://host:8006); a reverse proxy in front must pass /api2/json through without a login page.`,
  });
}

/** The {@link ProxmoxError} of a call that did not get its whole answer within `timeoutMs`. */
export function errorForTimeout(options: { origin: string; path: string; timeoutMs: number }): ProxmoxError {
  const { origin, path, timeoutMs } = options;
  return new ProxmoxError({
    code: 'timeout',
    path,
    message: `Proxmox at ${origin} did not answer ${path} within ${timeoutMs} ms: the node may be overloaded, or a storage or Ceph it asks may hang; try again later.`,
  });
}

/** Turns a failure to get any answer (DNS, refused, TLS, timeout) into a {@link ProxmoxError}. */
export function errorForFailure(error: unknown, options: { origin: string; path: string }): ProxmoxError {
  const { origin, path } = options;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new ProxmoxError({
      code: 'timeout',
      path,
      message: `Proxmox at ${origin} did not answer ${path} in time.`,
    });
  }
  const { code, message } = errorCode(error);
  const cause = error instanceof Error ? (error.cause ?? error) : error;
  if (code && NAME_MISMATCH_CODES.has(code)) {
    return new ProxmoxError({
      code: 'tls',
      path,
      cause,
      message: `The TLS certificate of ${origin} is trusted but made out for other names (${message}). Put a name or IP the certificate lists in PROXMOX_URL (a Proxmox node certificate lists the node name and its IP), or give the node a certificate for this name.`,
    });
  }
  if (code && (TLS_CODES.has(code) || /CERT|SSL|TLS/.test(code))) {
    return new ProxmoxError({
      code: 'tls',
      path,
      cause,
      message: `The TLS certificate of ${origin} is not trusted (${code}: ${message}). Proxmox signs it with its own cluster CA: set PROXMOX_CA_FILE to a copy of /etc/pve/pve-root-ca.pem, or PROXMOX_VERIFY_TLS=false to skip the check.`,
    });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new ProxmoxError({
      code: 'timeout',
      path,
      cause,
      message: `Connecting to Proxmox at ${origin} timed out (${code}).`,
    });
  }
  return new ProxmoxError({
    code: 'network',
    path,
    cause,
    message: `Cannot reach Proxmox at ${origin} (${code ?? message}): ${portHint(origin)}check PROXMOX_URL (https://host:8006) and that the host is up.`,
  });
}

/** For a URL without a port: it went to 443 (or 80), where Proxmox does not listen unless a proxy is in front. */
function portHint(origin: string): string {
  try {
    const url = new URL(origin);
    if (url.port !== '') return '';
    return `the URL has no port, so ${url.protocol === 'https:' ? 443 : 80} was used, and Proxmox itself listens on 8006; `;
  } catch {
    return '';
  }
}
