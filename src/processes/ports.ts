/** Free loopback TCP ports for the dev environment's components. */
import { createServer } from 'node:net';

/** Returns `count` distinct ports that were free on 127.0.0.1 a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port assigned');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Returns `count` distinct ports below the kernel's ephemeral range that were free on 127.0.0.1 a
 * moment ago, for a program that stores its ports in a signed 16-bit column (Temporal keeps its
 * membership ports in a PostgreSQL `smallint`). Random picks in 20000–32767, skipping busy ones.
 */
export async function freeLowPorts(count: number, random: () => number = Math.random): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries += 1) {
    if (tries > count * 50) throw new Error(`no ${count} free ports found in 20000-32767`);
    const port = 20_000 + Math.floor(random() * 12_768);
    if (ports.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}
