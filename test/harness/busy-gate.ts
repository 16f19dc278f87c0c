/**
 * A TCP gate in front of a MySQL/MariaDB server that answers the next connections it is told to
 * as a server at max_connections answers: an error packet 1040 "Too many connections" in place of
 * the greeting, then the close. Every other connection is passed through to the server byte for
 * byte (TLS too). A command's first connection is then retried exactly as many times as the gate
 * turned away, whether or not the command says so on stderr — what a restart timed on the
 * command's first warning line cannot give a command told to write none (`--quiet`).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** ER_CON_COUNT_ERROR, as the server sends it before the handshake: no SQL state marker. */
const TOO_MANY_CONNECTIONS = 1040;

export interface BusyGate {
  readonly port: number;
  /** Connections turned away so far. */
  readonly turnedAway: number;
  /** Turns away the next `n` connections. */
  turnAway(n: number): void;
  close(): Promise<void>;
}

/** The error packet a server at max_connections writes first (sequence 0). */
function tooManyConnections(): Buffer {
  const payload = Buffer.concat([Buffer.from([0xff]), Buffer.alloc(2), Buffer.from('Too many connections')]);
  payload.writeUInt16LE(TOO_MANY_CONNECTIONS, 1);
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  return Buffer.concat([head, payload]);
}

/** Listens on 127.0.0.1 on a free port, in front of host:port, turning no connection away yet. */
export async function startBusyGate(host: string, port: number): Promise<BusyGate> {
  const sockets = new Set<Socket>();
  let toTurnAway = 0;
  let turnedAway = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A peer gone is the other side's business: the pair is torn down below.
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (toTurnAway > 0) {
      toTurnAway--;
      turnedAway++;
      client.end(tooManyConnections());
      return;
    }
    const upstream = connect(port, host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the gate has no TCP address');
  return {
    port: address.port,
    get turnedAway() {
      return turnedAway;
    },
    turnAway(n) {
      toTurnAway = n;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
