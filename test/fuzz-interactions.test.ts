import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordVerifier } from '../src/crypto/discord-signature';
import { encodeCustomId, encodeModalId, encodePlanId, MODAL_TEXT_FIELD } from '../src/discord/custom-id';
import { createInteractionDispatcher, FAILURE_TEXT } from '../src/discord/dispatcher';
import { buildApp } from '../src/http/app';
import { createLogger } from '../src/logger';
import { buildAutocomplete, buildButtonClick, buildModalSubmit, buildPing, buildSelectMenu, buildSlashCommand, createInteractionSigner } from '../src/sandbox/interaction-signer';
import type { TaskRequest } from '../src/shared/task';
import { openStore } from '../src/store/open-store';
import type { Store } from '../src/store/store';
import type { TaskControl } from '../src/temporal/task-control';
import { createTally } from './helpers/reliability-tally';
import { bend } from './helpers/bend';
import { createSecretBox, generateEncryptionKey } from '../src/crypto/secret-box';

/** Seals what a form submits as a key; these tests never read it back in plaintext. */
const TEST_SECRETS = createSecretBox(generateEncryptionKey());

/**
 * Signed interaction bodies, real ones bent out of shape, through `POST /interactions` with the real verifier,
 * dispatcher and handlers on an embedded store. Every answer is a 2xx or a 4xx; a 200 is never "something went
 * wrong on our side" (a handler that threw); what reaches the task engine is well-typed.
 */

const signer = createInteractionSigner();
const ctx = { applicationId: '1100000000000000001', guildId: '1200000000000000002', channelId: '1300000000000000003', user: { id: '1400000000000000004', roles: ['1500000000000000005'] } };
const TASK = 'task-1600000000000000006';
const RUN = 'plan-20261202-acme-web-ab12';
const tally = createTally('fuzz-interactions');
const submitted: TaskRequest[] = [];
const internalFailures: string[] = [];

/** A fake of the TaskControl port: it admits nothing and every task is gone, so handlers answer at once. */
const tasks: TaskControl = {
  submit: async (request) => (submitted.push(request), { kind: 'admission', admission: { admitted: false, reason: 'fuzzing: nothing is admitted' } as never }),
  decide: async () => ({ kind: 'gone' }),
  decidePlan: async () => ({ kind: 'gone' }),
  reply: async () => ({ kind: 'gone' }),
  cancel: async () => ({ kind: 'gone' }),
  view: async () => undefined,
  merge: async () => ({ kind: 'gone' }),
  fix: async () => ({ kind: 'gone' }),
  notifyJulesEvent: async () => false,
};

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = await openStore({ inMemory: true });
  const dispatch = createInteractionDispatcher({ secrets: TEST_SECRETS,
    log: createLogger('silent'),
    lateAnswers: { editOriginal: async () => undefined, followUp: async () => undefined } as never,
    tasks,
    store,
    answerWithinMs: 10_000,
  });
  app = buildApp({ verifyDiscordSignature: createDiscordVerifier(signer.publicKeyHex), dispatch, logger: false });
  await app.ready();
});

afterAll(async () => {
  const written = tally.write({ internalFailures: internalFailures.slice(0, 20) });
  await app?.close();
  await store?.close();
  expect(written.status5xx).toBe(0);
});

/** Real interactions of every kind the service answers. */
const SEEDS: unknown[] = [
  buildPing({ applicationId: ctx.applicationId }),
  buildSlashCommand({ ...ctx, name: 'jules', options: { prompt: 'Fix the flaky test', repo: 'acme/widgets', branch: 'main', plan_approval: true } }),
  buildSlashCommand({ ...ctx, name: 'jules-status' }),
  buildSlashCommand({ ...ctx, name: 'plan', options: { repo: 'acme/widgets' } }),
  buildSlashCommand({ ...ctx, name: 'status', options: { run: RUN } }),
  buildAutocomplete({ ...ctx, name: 'status', option: 'run', typed: 'plan-2026' }),
  buildButtonClick({ ...ctx, customId: encodeCustomId({ action: 'confirm', taskId: TASK }), messageId: '1700000000000000007' }),
  buildButtonClick({ ...ctx, customId: encodeCustomId({ action: 'reply', taskId: TASK }), messageId: '1700000000000000007' }),
  buildButtonClick({ ...ctx, customId: encodePlanId({ action: 'approve', runId: RUN, revision: 1 }), messageId: '1700000000000000007' }),
  buildSelectMenu({ ...ctx, customId: encodePlanId({ action: 'drop', runId: RUN, revision: 1 }), messageId: '1700000000000000007', values: ['12', '13'] }),
  buildModalSubmit({ ...ctx, customId: encodeModalId({ action: 'reply', taskId: TASK }), fields: { [MODAL_TEXT_FIELD]: 'Use the staging database' } }),
];

/** Paths handlers read, where a value of the wrong type or shape is put. */
const PATHS = [
  ['data', 'options'], ['data', 'options', '0'], ['data', 'options', '0', 'value'], ['data', 'options', '0', 'type'], ['data', 'options', '0', 'name'],
  ['data', 'options', '1', 'value'], ['data', 'options', '0', 'focused'], ['data', 'name'], ['data', 'custom_id'], ['data', 'values'], ['data', 'values', '0'],
  ['data', 'components'], ['data', 'components', '0'], ['data', 'components', '0', 'component'], ['data', 'components', '0', 'component', 'value'],
  ['data', 'components', '0', 'components'], ['data', 'component_type'], ['data'], ['member'], ['member', 'roles'], ['member', 'roles', '0'], ['member', 'user'],
  ['member', 'permissions'], ['user'], ['guild_id'], ['channel'], ['channel', 'id'], ['channel_id'], ['message'], ['message', 'id'], ['locale'], ['type'],
].map((path) => path as readonly string[]);
const oddValue = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, '', 0, -1, 1.5, 2 ** 53, 1e308, true, '1', [], {}, [1], ['x'], '\u0000', 'x'.repeat(5000), '1200000000000000002', 'task-1', { id: 1 }),
);

const body = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...SEEDS), fc.array(fc.record({ path: fc.constantFrom(...PATHS), replacement: oddValue }), { minLength: 1, maxLength: 3 })).map(([seed, edits]) => JSON.stringify(bend(seed, edits))), weight: 8 },
  { arbitrary: fc.constantFrom(...SEEDS).map((seed) => JSON.stringify(seed)), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), weight: 1 },
);

describe('POST /interactions with signed bodies of every shape', () => {
  it('answers 2xx or 4xx, never with a handler that threw, and passes only well-typed requests on', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const signed = signer.sign(raw);
        const response = await app.inject({ method: 'POST', url: '/interactions', headers: signed.headers, payload: signed.body });
        const label = raw.length > 600 ? `${raw.slice(0, 80)}…${raw.slice(-500)}` : raw;
        if (response.statusCode === 200 && response.body.includes(FAILURE_TEXT.internal)) {
          internalFailures.push(label);
          tally.record('interactions', 'crash');
        } else {
          tally.recordStatus('interactions', response.statusCode);
        }
        expect(response.statusCode, label).toBeLessThan(500);
        expect(response.body, label).not.toContain(FAILURE_TEXT.internal);
        if (response.statusCode === 200) expect(typeof (JSON.parse(response.body) as { type?: unknown }).type).toBe('number');
      }),
      { numRuns: 600 },
    );
    for (const request of submitted) {
      expect(typeof request.prompt === 'string' && request.prompt.length > 0).toBe(true);
      expect(request.requester.roles.every((role) => typeof role === 'string')).toBe(true);
      for (const field of [request.repo, request.branch]) expect(field === undefined || typeof field === 'string').toBe(true);
      expect(request.planApproval === undefined || typeof request.planApproval === 'boolean').toBe(true);
    }
  });

  it('answers 400 naming the field when an option value, the options or a modal body have the wrong type', async () => {
    const jules = SEEDS[1] as { data: { options: { name: string; value: unknown }[] } };
    const cases: [unknown, string][] = [
      [bend(jules, [{ path: ['data', 'options', '0', 'value'], replacement: 42 }]), 'data.options[0].value must be a string'],
      [bend(jules, [{ path: ['data', 'options', '3', 'value'], replacement: 'yes' }]), 'data.options[3].value must be true or false'],
      [bend(jules, [{ path: ['data', 'options'], replacement: {} }]), 'data.options must be a list of options'],
      [bend(SEEDS[10], [{ path: ['data'], replacement: undefined }]), 'data must be an object'],
      [bend(SEEDS[9], [{ path: ['data', 'values'], replacement: [12] }]), 'data.values must be a list of strings'],
    ];
    const before = submitted.length;
    for (const [interaction, says] of cases) {
      const signed = signer.sign(JSON.stringify(interaction));
      const response = await app.inject({ method: 'POST', url: '/interactions', headers: signed.headers, payload: signed.body });
      tally.recordStatus('interactions typed', response.statusCode);
      expect(response.statusCode, says).toBe(400);
      // The route's schema (src/http) refuses some shapes before the dispatcher's own check sees them; either names the field.
      const answer = JSON.parse(response.body) as { error: string; code: string };
      if (answer.code === 'FST_ERR_VALIDATION') expect(answer.error, says).toContain(says.split(' ')[0]!.split(/[.[\]]/).filter(Boolean).pop());
      else expect(answer).toEqual({ error: `not a Discord interaction: ${says}`, code: 'MALFORMED_INTERACTION' });
    }
    expect(submitted.length).toBe(before);
  });

  it('answers a modal whose Label or row came empty without a handler that threw (found by the property above)', async () => {
    for (const components of [[{ type: 18, id: 1 }], [{ type: 1 }]]) {
      const signed = signer.sign(JSON.stringify(bend(SEEDS[10], [{ path: ['data', 'components'], replacement: components }])));
      const response = await app.inject({ method: 'POST', url: '/interactions', headers: signed.headers, payload: signed.body });
      expect(response.statusCode, JSON.stringify(components)).toBeLessThan(500);
      expect(response.body).not.toContain(FAILURE_TEXT.internal);
    }
  });

  it('answers 401 to a body signed with another key, or changed after signing, and runs nothing', async () => {
    const stranger = createInteractionSigner();
    const before = submitted.length;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SEEDS), fc.boolean(), async (seed, strangerSigns) => {
        const raw = JSON.stringify(seed);
        const signed = strangerSigns ? stranger.sign(raw) : signer.sign(raw);
        const payload = strangerSigns ? signed.body : `${signed.body} `;
        const response = await app.inject({ method: 'POST', url: '/interactions', headers: signed.headers, payload });
        tally.recordStatus('interactions unsigned', response.statusCode);
        expect(response.statusCode).toBe(401);
      }),
      { numRuns: 100 },
    );
    expect(submitted.length).toBe(before);
  });
});
