import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** PEM material of the testkit's own CA and a server certificate it signed for 127.0.0.1, ::1 and localhost. */
export interface TestCertificates {
  /** The CA certificate: what a client passes as `ca` (or `PROXMOX_CA_FILE`) to trust the fakes. */
  ca: string;
  /** Path of the CA certificate file. */
  caFile: string;
  cert: string;
  key: string;
}

let cached: TestCertificates | undefined;

/** The testkit's self-signed TLS material (valid for a century; test use only). */
export function testCertificates(): TestCertificates {
  if (cached) return cached;
  const file = (name: string) => fileURLToPath(new URL(`../certs/${name}`, import.meta.url));
  cached = {
    ca: readFileSync(file('ca.crt'), 'utf8'),
    caFile: file('ca.crt'),
    cert: readFileSync(file('server.crt'), 'utf8'),
    key: readFileSync(file('server.key'), 'utf8'),
  };
  return cached;
}
