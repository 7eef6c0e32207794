import { spawn } from 'node:child_process';
import { resolveGoTool, TOXIPROXY } from '../../src/tools/go-tool';
import { freePort } from './service-process';

/**
 * toxiproxy 2.5.0 (built from its Go module into .tools/, scripts/install-go-tools.mjs) with its HTTP API on
 * loopback: TCP proxies a test puts between a process and what it talks to, and toxics (latency, reset_peer) or a
 * disabled proxy (down: connections closed, new ones refused) on them.
 * @see https://github.com/Shopify/toxiproxy#http-api
 */
export interface Toxiproxy {
  /** `http://127.0.0.1:<port>`, the API. */
  readonly apiUrl: string;
  /** A proxy named `name` to `upstream` (`host:port`); returns the `127.0.0.1:<port>` it listens on. */
  proxy(name: string, upstream: string): Promise<string>;
  /** Adds a toxic to every proxy (or the named ones), on responses (`downstream`) unless told. */
  addToxic(toxic: Toxic, names?: readonly string[]): Promise<void>;
  removeToxic(toxicName: string, names?: readonly string[]): Promise<void>;
  /** Disables (down) or enables every proxy (or the named ones). */
  setEnabled(enabled: boolean, names?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** A toxic as the API takes it, e.g. `{ name: 'slow', type: 'latency', attributes: { latency: 200 } }`. */
export interface Toxic {
  readonly name: string;
  readonly type: 'latency' | 'reset_peer' | 'timeout' | 'bandwidth' | 'slow_close' | 'slicer' | 'limit_data';
  readonly stream?: 'upstream' | 'downstream';
  readonly attributes: Readonly<Record<string, number>>;
}

/** Starts toxiproxy-server on a free loopback port; resolves once its API answers. */
export async function startToxiproxy(): Promise<Toxiproxy> {
  const tool = await resolveGoTool(TOXIPROXY, { explicitPath: process.env.TOXIPROXY_PATH, env: process.env });
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const child = spawn(tool.path, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${apiUrl}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: ${response.status} ${await response.text()}`);
    // JSON, except /version (text) and deletes (204).
    return response.text();
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`toxiproxy-server exited with ${child.exitCode}:\n${output}`);
    try {
      await api('GET', '/version');
      break;
    } catch {
      if (Date.now() > deadline) {
        // A server that never answered must not outlive the test.
        process.off('exit', killOnExit);
        child.kill('SIGKILL');
        throw new Error(`toxiproxy-server did not answer within 20 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const names: string[] = [];
  const each = async (which: readonly string[] | undefined, act: (name: string) => Promise<unknown>) => {
    await Promise.all((which ?? names).map(act));
  };
  return {
    apiUrl,
    async proxy(name, upstream) {
      const listen = `127.0.0.1:${await freePort()}`;
      await api('POST', '/proxies', { name, listen, upstream, enabled: true });
      names.push(name);
      return listen;
    },
    addToxic: (toxic, which) => each(which, (name) => api('POST', `/proxies/${name}/toxics`, { stream: 'downstream', toxicity: 1, ...toxic })),
    removeToxic: (toxicName, which) => each(which, (name) => api('DELETE', `/proxies/${name}/toxics/${toxicName}`)),
    setEnabled: (enabled, which) => each(which, (name) => api('POST', `/proxies/${name}`, { enabled })),
    async close() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `url` with its host and port replaced by `address` (`127.0.0.1:<port>`), path kept. */
export function throughProxy(url: string, address: string): string {
  const proxied = new URL(url);
  proxied.host = address;
  return proxied.toString().replace(/\/$/, '');
}
