/**
 * A TCP proxy between a client and a MySQL/MariaDB server that can lose a connection at an exact
 * moment, as a network does: after a chosen statement reached the server and the server answered,
 * the answer is thrown away and both sockets are closed. The server has done the statement (a
 * COMMIT has committed); the client never hears so. A KILL or a server restart cannot stage that.
 *
 * It reads the client's packets (3-byte length, sequence byte, payload) to find COM_QUERY (0x03)
 * statements and COM_STMT_EXECUTE (0x17) of prepared ones, whose text it learns from the
 * COM_STMT_PREPARE (0x16) and the statement id the server's answer gives; plain connections only
 * (a TLS session is opaque to it). The client must not pipeline (mysql2 sends a command once the
 * one before it was answered), so the first packet after a prepare is its answer.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_BINLOG_DUMP = 0x12;

/** How a statement reached the server: as text, or as the execution of a prepared statement (its text given). */
export type StatementKind = 'query' | 'execute';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /**
   * Drops, once, the connection that sends the first statement `match` accepts, right after the
   * server answers it (`when: 'after-reply'`) or right after forwarding it (`'after-send'`: the
   * server may or may not run it before it sees the connection close).
   */
  dropOn(match: (sql: string, kind: StatementKind) => boolean, when?: 'after-reply' | 'after-send', options?: DropOptions): void;
  /** Whether the armed drop happened, and the statement it happened on. */
  readonly dropped: string | null;
  /**
   * Drops, once, the next connection that asks for a binlog dump (COM_BINLOG_DUMP) once the server
   * has sent `bytes` bytes of the dump: the client gets those, then the connection closes
   * mid-stream, as a network failing during a live read does.
   */
  dropDumpAfter(bytes: number): void;
  /** Whether the armed dump drop happened. */
  readonly dumpDropped: boolean;
  /** Takes connections again after a drop with `refuseAfter` (DropOptions). */
  admit(): void;
  close(): Promise<void>;
}

export interface DropOptions {
  /**
   * Close the client's side only: the server's socket stays open until the proxy closes, as when
   * a network fails between them and the server never hears so — its session lives on, holding
   * its transaction's locks and its named locks.
   */
  readonly serverSideStays?: boolean;
  /**
   * From the drop on, close every new connection as soon as it is accepted, as a DR gone down
   * does, until `admit()`: the client can neither reopen its session nor open another.
   */
  readonly refuseAfter?: boolean;
}

/** Listens on 127.0.0.1 on a free port and forwards each connection to host:port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let armed: { match: (sql: string, kind: StatementKind) => boolean; when: 'after-reply' | 'after-send'; options: DropOptions } | null = null;
  let dropped: string | null = null;
  let dumpArmed: number | null = null;
  let dumpDropped = false;
  let connections = 0;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let pending = Buffer.alloc(0);
    let answers = Buffer.alloc(0);
    /** The text of the prepare whose answer (statement id) has not come back yet. */
    let preparing: string | null = null;
    /** Prepared statements of this connection by the id the server gave them. */
    const prepared = new Map<number, string>();
    let dropOnReply = false;
    let serverSideStays = false;
    /** Dump bytes still to pass before this connection is dropped (null: not armed). */
    let dumpBudget: number | null = null;
    const drop = (): void => {
      client.destroy();
      if (!serverSideStays) upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3);
        if (pending.length < 4 + length) break;
        const payload = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        if (payload[0] === COM_STMT_PREPARE) preparing = payload.subarray(1).toString('utf8');
        if (payload[0] === COM_BINLOG_DUMP && dumpArmed !== null) {
          dumpBudget = dumpArmed;
          dumpArmed = null;
        }
        if (armed === null) continue;
        let sql: string;
        let kind: StatementKind;
        if (payload[0] === COM_QUERY) {
          sql = payload.subarray(1).toString('utf8');
          kind = 'query';
        } else if (payload[0] === COM_STMT_EXECUTE && payload.length >= 5) {
          const text = prepared.get(payload.readUInt32LE(1));
          if (text === undefined) continue;
          sql = text;
          kind = 'execute';
        } else continue;
        if (!armed.match(sql, kind)) continue;
        dropped = sql;
        const when = armed.when;
        serverSideStays = armed.options.serverSideStays === true;
        refusing = armed.options.refuseAfter === true;
        armed = null;
        if (when === 'after-send') {
          // Once the bytes are on their way: the server reads them before it sees the close.
          upstream.once('drain', drop);
          if (upstream.writableLength === 0) setImmediate(drop);
        } else dropOnReply = true;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropOnReply) {
        dropOnReply = false;
        drop();
        return;
      }
      if (client.destroyed) return;
      if (dumpBudget !== null) {
        if (chunk.length >= dumpBudget) {
          dumpDropped = true;
          client.end(chunk.subarray(0, dumpBudget));
          upstream.destroy();
          return;
        }
        dumpBudget -= chunk.length;
      }
      client.write(chunk);
      if (preparing === null) return;
      answers = Buffer.concat([answers, chunk]);
      if (answers.length < 4 || answers.length < 4 + answers.readUIntLE(0, 3)) return;
      // COM_STMT_PREPARE_OK: 0x00, then the statement id (4 bytes); an error (0xff) prepares nothing.
      if (answers[4] === 0x00 && answers.length >= 9) prepared.set(answers.readUInt32LE(5), preparing);
      preparing = null;
      answers = Buffer.alloc(0);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => {
        if (!(a === client && serverSideStays)) b.destroy();
      });
      a.on('close', () => {
        sockets.delete(a);
        if (!(a === client && serverSideStays)) b.destroy();
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
    get dumpDropped() {
      return dumpDropped;
    },
    dropDumpAfter(bytes) {
      dumpArmed = bytes;
      dumpDropped = false;
    },
    admit() {
      refusing = false;
    },
    dropOn(match, when = 'after-reply', options = {}) {
      armed = { match, when, options };
      dropped = null;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
