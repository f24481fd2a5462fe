import { connect, type Socket } from 'node:net';

/** The parsed options postgres.js hands a `socket` factory (only what this one reads). */
export interface SocketTarget {
  host: string[];
  port: number[];
  /** A Unix socket's path, when the host is a folder. */
  path?: string | false | undefined;
}

/**
 * A postgres.js `socket` factory for one server (the default's own connect, plus one rule). When a
 * connection that a waiting query opened closes cleanly before the server sent a byte, postgres.js
 * connects again at once, without end: an endpoint that accepts and hangs up (a proxy or pooler with
 * no PostgreSQL behind it) kept the query waiting forever while sockets piled up, hundreds a second.
 * Here such a connection fails with an error instead (code `CONNECTION_CLOSED`), which fails the
 * waiting query, so the caller hears that the database is unavailable. (The server also closes a
 * cancel request's connection without a byte, so `query.cancel()` would reject: the store never
 * cancels a query.)
 */
export function hangUpFailsSocket(target: SocketTarget): Socket {
  const host = target.host[0] ?? 'localhost';
  const port = target.port[0] ?? 5432;
  const socket = target.path ? connect(target.path) : connect(port, host);
  // postgres.js names the server in its errors from these.
  Object.assign(socket, { host, port });
  socket.once('end', () => {
    if (socket.bytesRead > 0) return;
    const where = target.path || `${host}:${port}`;
    const error = new Error(
      `${where} accepted the connection and closed it before answering (a proxy or pooler with no PostgreSQL server behind it?)`,
    );
    socket.destroy(Object.assign(error, { code: 'CONNECTION_CLOSED' }));
  });
  return socket;
}
