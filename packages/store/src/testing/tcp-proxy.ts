import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 that a test can stop (dropping every connection) and start again. */
export interface TcpProxy {
  readonly port: number;
  /** Closes the listener and destroys every proxied connection: the server "goes away". */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /**
   * Drops every proxied connection and, until {@link passThrough}, accepts each new one and closes
   * it at once, before a byte: a proxy or pooler with no server behind it.
   */
  hangUp(): void;
  /** Passes connections to the target again. */
  passThrough(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/** What a proxy does besides passing bytes along. */
export interface TcpProxyOptions {
  /**
   * PostgreSQL backend message types (such as `A`, a notification) that never reach the client,
   * as behind a pooler that does not pass them on. The server's stream is cut into messages (type
   * byte, 32-bit length) for it, so it suits a connection without TLS only.
   */
  dropServerMessages?: string;
}

/** Starts a proxy from 127.0.0.1:<free port> to `target`. */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let hangingUp = false;
  let accepted = 0;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        accepted++;
        if (hangingUp) {
          // Tracked too, so stop() ends a connection still half-open.
          sockets.add(client);
          client.on('error', () => {}).on('close', () => sockets.delete(client));
          client.end();
          return;
        }
        const upstream = connect(target.port, target.host);
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        if (options.dropServerMessages) forwardMessages(upstream, client, options.dropServerMessages);
        else upstream.pipe(client);
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        const address = next.address();
        if (typeof address === 'object' && address) port = address.port;
        server = next;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    hangUp() {
      hangingUp = true;
      dropAll();
    },
    passThrough() {
      hangingUp = false;
    },
    async stop() {
      const current = server;
      server = undefined;
      dropAll();
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    start: listen,
  };
}

/** Writes `from`'s PostgreSQL backend messages to `to`, leaving out those of the `drop` types. */
function forwardMessages(from: Socket, to: Socket, drop: string): void {
  let pending: Buffer = Buffer.alloc(0);
  from.on('data', (data: Buffer) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    let offset = 0;
    while (pending.length - offset >= 5) {
      const size = 1 + pending.readInt32BE(offset + 1);
      if (pending.length - offset < size) break;
      if (!drop.includes(String.fromCharCode(pending[offset] as number))) {
        to.write(pending.subarray(offset, offset + size));
      }
      offset += size;
    }
    pending = pending.subarray(offset);
  });
  from.on('end', () => to.end());
}
