import { z } from 'zod';

/**
 * Lenient decoders for Proxmox's wire quirks: Perl prints some numbers as strings (`loadavg`, `mhz`,
 * LXC `pressure*`, task `id`) and every boolean as `0`/`1`.
 */

/** A number sent as a number or a numeric string; becomes a number. */
export const wireNumber = z
  .union([z.number(), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, 'a numeric string')])
  .transform((value) => (typeof value === 'number' ? value : Number(value)));

/** A flag sent as `0`/`1`, `"0"`/`"1"` or a JSON boolean; becomes a boolean. */
export const wireFlag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.literal('0'), z.literal('1')])
  .transform((value) => value === true || value === 1 || value === '1');

/** A string Proxmox may leave out; also accepts a number (an id it printed as one). */
export const wireText = z.union([z.string(), z.number()]).transform(String);

/**
 * Splits Proxmox's lists (`tags`, `content`) into trimmed, non-empty parts. By default on `;`, `,`
 * and whitespace, as Proxmox's own `split_list` reads a hand-edited `tags: prod web` too.
 */
export function splitList(value: string | undefined, separator: RegExp = /[;,\s]/): string[] {
  if (!value) return [];
  return value
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
