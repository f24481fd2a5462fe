/**
 * The API base of a `PROXMOX_URL`, without `/api2/json`: `https://pve1:8006`, or
 * `https://proxy.lan/pve` behind a reverse proxy that serves Proxmox under a path prefix. Trailing
 * slashes, a copied `/api2/json`, the web UI's `#v1:...` fragment, a query and any user:password part
 * are dropped (so none of them reaches a request, a log line or an error).
 */
export function proxmoxBaseUrl(url: string): string {
  const parsed = new URL(url.trim());
  const path = parsed.pathname
    .replace(/\/+$/, '')
    .replace(/\/api2\/json$/, '')
    .replace(/\/+$/, '');
  return `${parsed.origin}${path}`;
}
