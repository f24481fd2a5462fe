/** `12.3 GiB`, `980 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A guest's human name: `VM 102 (db)` or `CT 200 (dns)`. */
export function guestLabel(guest: { vmid: number; type: 'qemu' | 'lxc'; name: string }): string {
  return `${guest.type === 'lxc' ? 'CT' : 'VM'} ${guest.vmid}${guest.name ? ` (${guest.name})` : ''}`;
}
