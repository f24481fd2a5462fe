import { type ProxmoxFake, type ProxmoxFakeOptions, startProxmoxFake, testCertificates } from '@haia/testkit';
import { createProxmoxClient, type ProxmoxClient, type ProxmoxClientOptions } from './proxmox-client.js';

/** A fake cluster and a client that trusts it; `stop()` closes both. Test use only. */
export async function startCluster(
  options: { fake?: ProxmoxFakeOptions; client?: Partial<ProxmoxClientOptions> } = {},
): Promise<{ fake: ProxmoxFake; client: ProxmoxClient; stop: () => Promise<void> }> {
  const fake = await startProxmoxFake(options.fake);
  const client = createProxmoxClient({
    url: fake.url,
    tokenId: fake.tokenId,
    tokenSecret: fake.tokenSecret,
    ca: testCertificates().ca,
    ...options.client,
  });
  return {
    fake,
    client,
    stop: async () => {
      await client.close();
      await fake.close();
    },
  };
}

/** A pino-shaped logger that keeps every line in memory. */
export function memoryLogger() {
  const lines: Array<{ level: string; message: string | undefined; object: object }> = [];
  const make = (bindings: object): import('./logger.js').ProxmoxLogger => {
    const log = (level: string) => (object: object, message?: string) =>
      void lines.push({ level, message, object: { ...bindings, ...object } });
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}
