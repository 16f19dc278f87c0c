import { createServer } from 'node:net';
import { EngineError } from '../errors.js';
import { ThrowawayErrorCode } from './mariadb-binaries.js';

/**
 * Returns a TCP port on `host` that was free a moment ago: the kernel picks it for a
 * listener on port 0, which is then closed. Another process may take it before the
 * caller binds, so callers must retry on EADDRINUSE.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => {
        if (err !== undefined) reject(err);
        else if (port === 0) reject(new EngineError(ThrowawayErrorCode.StartFailed, `could not read the port the kernel chose on ${host}`));
        else resolve(port);
      });
    });
  });
}
