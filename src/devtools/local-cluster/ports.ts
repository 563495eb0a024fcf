// Loopback ports for spawned nodes, never handed out twice by this process.
import net from 'node:net';

export const HOST = '127.0.0.1';

// Ports handed out by this process: the OS may return a port that a stopped node still
// "owns" (e.g. a killed node we will restart, or a ghost other nodes still remember).
const handedOutPorts = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await bindEphemeralPort();
    if (!handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find an unused loopback port after 100 attempts');
}

function bindEphemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}
