import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal/connection';
import { TemporalConnectionError } from '../src/temporal/errors';

/** A file system of PEM files by path; any other path is missing, as `readFileSync` would say. */
function files(contents: Record<string, string>): (path: string) => Uint8Array {
  return (path) => {
    if (!(path in contents)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    return Buffer.from(contents[path]!);
  };
}

/** The connection options for an environment, as the service builds them for TEMPORAL_ADDRESS. */
function optionsFor(env: NodeJS.ProcessEnv, readFile = files({})) {
  const { temporal } = loadConfig(env);
  return temporalConnectionOptions({ ...temporal, address: temporal.address! }, readFile);
}

const cloud = { TEMPORAL_ADDRESS: 'jules.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'jules.a1b2c' };

describe('the Temporal connection options', () => {
  it('are the address and namespace alone for a plaintext server', () => {
    expect(optionsFor({ TEMPORAL_ADDRESS: 'localhost:7233' })).toEqual({ address: 'localhost:7233', namespace: 'default' });
  });

  it('carry an API key with plain TLS for Temporal Cloud', () => {
    expect(optionsFor({ ...cloud, TEMPORAL_API_KEY: 'cloud-api-key' })).toEqual({ address: cloud.TEMPORAL_ADDRESS, namespace: cloud.TEMPORAL_NAMESPACE, tls: true, apiKey: 'cloud-api-key' });
  });

  it('carry the client certificate pair read from its files for mTLS', () => {
    const readFile = files({ '/certs/client.pem': 'CERT', '/certs/client.key': 'KEY' });

    const options = optionsFor({ ...cloud, TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/certs/client.key' }, readFile);

    expect(options).toEqual({
      address: cloud.TEMPORAL_ADDRESS,
      namespace: cloud.TEMPORAL_NAMESPACE,
      tls: { clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') } },
    });
    expect(options).not.toHaveProperty('apiKey');
  });

  it('carry a server CA and a server name for a cluster with its own certificates', () => {
    const readFile = files({ '/etc/temporal/ca.pem': 'CA' });

    const options = optionsFor({ TEMPORAL_ADDRESS: '10.0.0.5:7233', TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/temporal/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }, readFile);

    expect(options.tls).toEqual({ serverNameOverride: 'temporal.internal', serverRootCACertificate: Buffer.from('CA') });
  });

  it('say which variable names a file that cannot be read', () => {
    const attempt = () => optionsFor({ ...cloud, TEMPORAL_TLS_CLIENT_CERT_PATH: '/nope/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nope/client.key' });

    expect(attempt).toThrow(TemporalConnectionError);
    expect(attempt).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH \/nope\/client\.pem: ENOENT/);
  });
});
