import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '../src/http/openapi';
import { startTestStack, type TestStack } from './helpers/stack';

let stack: TestStack;
/** Every route the app registered, as `METHOD /path` in OpenAPI's `{param}` form (HEAD is GET's shadow). */
const registered: string[] = [];

beforeAll(async () => {
  // Every optional route on: the Jules webhook, the GitHub webhook, the codec.
  stack = await startTestStack({ worker: false, github: true, julesWebhookSecret: 'openapi-test-jules-secret' });
  registered.push(...routesOf(stack.app.printRoutes({ commonPrefix: false })));
});

afterAll(async () => {
  await stack?.stop();
});

/** The routes fastify knows, from its own route list. */
function routesOf(printed: string): string[] {
  const routes: string[] = [];
  for (const match of printed.matchAll(/^[\s│├└─]*(\S+) \(([A-Z, ]+)\)$/gm)) {
    const [, path, methods] = match;
    for (const method of (methods ?? '').split(', ')) if (method !== 'HEAD') routes.push(`${method} ${(path ?? '').replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes.sort();
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const response = await stack.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const document = response.json();
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\./);
  });

  it('names every registered route, and no other', async () => {
    const document = (await stack.app.inject({ method: 'GET', url: OPENAPI_PATH })).json();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(registered).toContain('POST /interactions');
    expect(registered).toContain('GET /healthz');
    expect(registered).toContain('POST /codec/{token}/decode');
    expect(documented).toEqual(registered);
  });

  it('requires the signature headers as security schemes on the signed routes', async () => {
    const document = (await stack.app.inject({ method: 'GET', url: OPENAPI_PATH })).json();
    const schemes = document.components.securitySchemes;
    expect(schemes.discordSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Signature-Ed25519' });
    expect(schemes.githubSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Hub-Signature-256' });
    expect(document.paths['/interactions'].post.security).toEqual([{ discordSignature: [], discordTimestamp: [] }]);
    expect(document.paths['/webhook/jules'].post.security).toEqual([{ julesSignature: [], julesTimestamp: [] }]);
    expect(document.paths['/webhook/github'].post.security).toEqual([{ githubSignature: [] }]);
    expect(document.paths['/codec/decode'].post.security).toEqual([{ codecToken: [] }]);
    // GitHub's event and delivery headers are parameters the route requires.
    const githubHeaders = (document.paths['/webhook/github'].post.parameters as { in: string; name: string; required?: boolean }[]).filter((p) => p.in === 'header');
    expect(githubHeaders.filter((p) => p.required).map((p) => p.name).sort()).toEqual(['x-github-delivery', 'x-github-event']);
  });

  it('describes the /interactions body per interaction type', async () => {
    const document = (await stack.app.inject({ method: 'GET', url: OPENAPI_PATH })).json();
    const body = document.paths['/interactions'].post.requestBody.content['application/json'].schema;
    const types = (body.oneOf as { properties: { type: { enum: number[] } } }[]).map((s) => s.properties.type.enum);
    expect(types).toEqual([[1], [2], [3], [4], [5]]);
  });
});
