/**
 * A TCP proxy between a client and a MySQL/MariaDB server that can lose a connection at an exact
 * moment, as a network does: after a chosen statement reached the server and the server answered,
 * the answer is thrown away and both sockets are closed. The server has done the statement (a
 * COMMIT has committed); the client never hears so. A KILL or a server restart cannot stage that.
 *
 * It reads the client's packets (3-byte length, sequence byte, payload) to find COM_QUERY (0x03)
 * statements; plain connections only (a TLS session is opaque to it).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

const COM_QUERY = 0x03;

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /**
   * Drops, once, the connection that sends the first statement `match` accepts, right after the
   * server answers it (`when: 'after-reply'`) or right after forwarding it (`'after-send'`: the
   * server may or may not run it before it sees the connection close).
   */
  dropOn(match: (sql: string) => boolean, when?: 'after-reply' | 'after-send'): void;
  /** Whether the armed drop happened, and the statement it happened on. */
  readonly dropped: string | null;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port and forwards each connection to host:port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let armed: { match: (sql: string) => boolean; when: 'after-reply' | 'after-send' } | null = null;
  let dropped: string | null = null;
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let pending = Buffer.alloc(0);
    let dropOnReply = false;
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        const payload = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        if (armed === null || payload[0] !== COM_QUERY) continue;
        const sql = payload.subarray(1).toString('utf8');
        if (!armed.match(sql)) continue;
        dropped = sql;
        const when = armed.when;
        armed = null;
        if (when === 'after-send') {
          // Once the bytes are on their way: the server reads them before it sees the close.
          upstream.once('drain', drop);
          if (upstream.writableLength === 0) setImmediate(drop);
        } else dropOnReply = true;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropOnReply) drop();
      else client.write(chunk);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get dropped() {
      return dropped;
    },
    dropOn(match, when = 'after-reply') {
      armed = { match, when };
      dropped = null;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
