import type { ProxmoxClient } from './proxmox-client.js';
import { ProxmoxError, type ProxmoxErrorCode } from './proxmox-error.js';

/** What `/ready` can show about the cluster; never a thrown error. */
export interface ProxmoxHealth {
  /** The cluster's API base URL, as `client.url`. */
  url: string;
  /** Proxmox answered `GET /version` with this token. */
  reachable: boolean;
  /** pve-manager version, when reachable. */
  version: string | undefined;
  /** Why it is not reachable. */
  error: { code: ProxmoxErrorCode; message: string } | undefined;
  checkedAt: Date;
}

/**
 * Asks the cluster for its version and reports the outcome without throwing, so an api can start,
 * and stay up, while the cluster is down. `now` is injectable for tests.
 */
export async function checkProxmox(
  client: ProxmoxClient,
  options: { signal?: AbortSignal; now?: () => Date } = {},
): Promise<ProxmoxHealth> {
  const now = options.now ?? (() => new Date());
  try {
    const { version } = await client.version(options.signal ? { signal: options.signal } : {});
    return { url: client.url, reachable: true, version, error: undefined, checkedAt: now() };
  } catch (error) {
    const failure = ProxmoxError.isInstance(error)
      ? { code: error.code, message: error.message }
      : { code: 'network' as const, message: error instanceof Error ? error.message : String(error) };
    return { url: client.url, reachable: false, version: undefined, error: failure, checkedAt: now() };
  }
}
