import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Free TCP ports on 127.0.0.1 for servers a test starts later on its own (child processes, PostgreSQL, the SDK's
 * metrics), in one place. A port is picked at random *below* the kernel's ephemeral range and probed: a port the
 * OS handed out for `listen(0)` is the next one another process's `listen(0)` or outgoing connection may get, and
 * with three test files at once a `start` once lost its Web UI port that way in the second before it bound it.
 * Free of vitest: benches import it too.
 */

/** The first port of the ephemeral range (Linux's default 32768 where it cannot be read). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

const LOWEST = 10_000;
const BELOW = ephemeralStart();
/** Ports this process handed out, never handed out twice. */
const given = new Set<number>();

/** Whether nothing listens on `port` at 127.0.0.1 right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The OS's pick (inside the ephemeral range): the fallback when the range leaves no room below it. */
function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}

/** A free TCP port on 127.0.0.1, closed again before it is returned. */
export async function freePort(): Promise<number> {
  if (BELOW - LOWEST < 1_000) return osPort();
  for (let tries = 0; tries < 50; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (BELOW - LOWEST));
    if (given.has(port) || !(await isFree(port))) continue;
    given.add(port);
    return port;
  }
  return osPort();
}
