import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway certificate authority made for one test run with the `openssl` CLI (part of the base system, as on
 * any Debian or Ubuntu machine and in node:24-slim's build stage): a CA, a server certificate for `serverName` and
 * 127.0.0.1, and a client certificate for mTLS, all P-256 (what rustls in the Temporal core SDK accepts).
 */
export interface TestCertificates {
  /** Folder holding the PEM files below, removed by {@link TestCertificates.remove}. */
  readonly dir: string;
  readonly serverName: string;
  readonly caCertPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  /** Reads one of the files above as text. */
  pem(path: string): string;
  remove(): void;
}

export function makeTestCertificates(serverName: string, clientName = 'jules-worker'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'jo-certs-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name));

  key('ca.key');
  openssl('req', '-x509', '-new', '-key', file('ca.key'), '-subj', '/CN=jules-orchestrator test CA', '-days', '2', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', file('ca.pem'));

  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    openssl('req', '-new', '-key', file(`${name}.key`), '-subj', subject, '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), extensions);
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-days', '2', '-sha256', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
  };
  issue('server', `/CN=${serverName}`, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName},IP:127.0.0.1\n`);
  issue('client', `/CN=${clientName}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');

  return {
    dir,
    serverName,
    caCertPath: file('ca.pem'),
    serverCertPath: file('server.pem'),
    serverKeyPath: file('server.key'),
    clientCertPath: file('client.pem'),
    clientKeyPath: file('client.key'),
    pem: (path) => readFileSync(path, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
