import { describe, expect, it } from 'vitest';
import { createDiscordVerifier } from '../src/crypto/discord-signature';
import { InvalidPublicKeyError } from '../src/crypto/errors';
import {
  buildButtonClick,
  buildModalSubmit,
  buildPing,
  buildSlashCommand,
  createInteractionSigner,
  newSnowflake,
} from '../src/sandbox/interaction-signer';

const context = {
  applicationId: '1100000000000000001',
  guildId: '1200000000000000002',
  channelId: '1300000000000000003',
  user: { id: '1400000000000000004', roles: ['1500000000000000005'] },
};

describe('Discord interaction signatures', () => {
  const signer = createInteractionSigner();
  const verify = createDiscordVerifier(signer.publicKeyHex);

  it('accepts a body signed the way Discord signs it', () => {
    const signed = signer.sign(JSON.stringify(buildPing({ applicationId: context.applicationId })));
    expect(signer.publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    expect(signed.headers['x-signature-ed25519']).toMatch(/^[0-9a-f]{128}$/);
    expect(signed.headers['content-type']).toBe('application/json');
    expect(verify(Buffer.from(signed.body), signed.headers['x-signature-ed25519'], signed.headers['x-signature-timestamp'])).toBe(true);
  });

  it('accepts the signature whatever the case of its hex digits', () => {
    const signed = signer.sign('{"type":1}', '1700000000');
    expect(verify(Buffer.from(signed.body), signed.headers['x-signature-ed25519'].toUpperCase(), '1700000000')).toBe(true);
  });

  it('rejects a body changed after signing, even by one byte', () => {
    const signed = signer.sign('{"type":1}');
    const ts = signed.headers['x-signature-timestamp'];
    expect(verify(Buffer.from('{"type":2}'), signed.headers['x-signature-ed25519'], ts)).toBe(false);
    // Re-serialising the parsed JSON changes the bytes, which is why only the raw body may be verified.
    expect(verify(Buffer.from(JSON.stringify(JSON.parse('{ "type": 1 }'))), signer.sign('{ "type": 1 }', ts).headers['x-signature-ed25519'], ts)).toBe(false);
  });

  it('rejects a signature presented with another timestamp', () => {
    const signed = signer.sign('{"type":1}', '1700000000');
    expect(verify(Buffer.from(signed.body), signed.headers['x-signature-ed25519'], '1700000001')).toBe(false);
  });

  it('rejects a signature made with another key', () => {
    const other = createInteractionSigner().sign('{"type":1}', '1700000000');
    expect(verify(Buffer.from(other.body), other.headers['x-signature-ed25519'], '1700000000')).toBe(false);
  });

  it('rejects missing, short, long and non-hex signatures without throwing', () => {
    const signed = signer.sign('{"type":1}', '1700000000');
    const sig = signed.headers['x-signature-ed25519'];
    const body = Buffer.from(signed.body);
    expect(verify(body, undefined, '1700000000')).toBe(false);
    expect(verify(body, sig, undefined)).toBe(false);
    expect(verify(body, sig, '')).toBe(false);
    expect(verify(body, '', '1700000000')).toBe(false);
    expect(verify(body, sig.slice(0, 126), '1700000000')).toBe(false);
    expect(verify(body, `${sig}00`, '1700000000')).toBe(false);
    expect(verify(body, `${sig.slice(0, 127)}z`, '1700000000')).toBe(false);
  });

  it('refuses to start with a public key that is not 64 hex characters, without echoing it', () => {
    for (const bad of ['', 'abc', signer.publicKeyHex.slice(0, 63), `${signer.publicKeyHex}00`, `${signer.publicKeyHex.slice(0, 63)}g`]) {
      let thrown: unknown;
      try {
        createDiscordVerifier(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidPublicKeyError);
      expect((thrown as InvalidPublicKeyError).code).toBe('INVALID_PUBLIC_KEY');
      if (bad.length > 3) expect((thrown as Error).message).not.toContain(bad);
    }
  });
});

describe('interaction payload builders', () => {
  it('makes unique, increasing, numeric snowflakes', () => {
    const ids = Array.from({ length: 1000 }, () => newSnowflake());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^\d{17,20}$/);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
    // The timestamp part decodes to now, as Discord's snowflakes do.
    const ms = Number(BigInt(ids[0]!) >> 22n) + 1420070400000;
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });

  it('builds a slash command from a member with roles and typed options', () => {
    const interaction = buildSlashCommand({
      ...context,
      name: 'jules',
      options: { prompt: 'fix the flaky test', plan_approval: true, priority: 2, weight: 0.5, branch: undefined },
    });
    expect(interaction.type).toBe(2);
    expect(interaction.version).toBe(1);
    expect(interaction.application_id).toBe(context.applicationId);
    expect(interaction.guild_id).toBe(context.guildId);
    expect(interaction.channel_id).toBe(context.channelId);
    expect(interaction.member.user.id).toBe(context.user.id);
    expect(interaction.member.roles).toEqual(context.user.roles);
    expect(interaction.token.length).toBeGreaterThan(40);
    expect(interaction.data.name).toBe('jules');
    expect(interaction.data.options).toEqual([
      { name: 'prompt', type: 3, value: 'fix the flaky test' },
      { name: 'plan_approval', type: 5, value: true },
      { name: 'priority', type: 4, value: 2 },
      { name: 'weight', type: 10, value: 0.5 },
    ]);
  });

  it('builds a button click on a given message, and a modal submit with its fields', () => {
    const click = buildButtonClick({ ...context, id: '1600000000000000006', customId: 'task:confirm:1', messageId: '1700000000000000007' });
    expect(click.id).toBe('1600000000000000006');
    expect(click.type).toBe(3);
    expect(click.data).toEqual({ custom_id: 'task:confirm:1', component_type: 2 });
    expect(click.message.id).toBe('1700000000000000007');
    expect(click.message.channel_id).toBe(context.channelId);

    const submit = buildModalSubmit({ ...context, customId: 'task:answer:1', fields: { answer: 'use main' } });
    expect(submit.type).toBe(5);
    expect(submit.data.custom_id).toBe('task:answer:1');
    expect(submit.data.components[0]).toMatchObject({ type: 18, component: { type: 4, custom_id: 'answer', value: 'use main' } });
  });

  it('signs a built interaction so the verifier accepts exactly those bytes', () => {
    const signer = createInteractionSigner();
    const signed = signer.sign(JSON.stringify(buildSlashCommand({ ...context, name: 'jules-status' })));
    const verify = createDiscordVerifier(signer.publicKeyHex);
    expect(verify(Buffer.from(signed.body), signed.headers['x-signature-ed25519'], signed.headers['x-signature-timestamp'])).toBe(true);
    expect(JSON.parse(signed.body).data.name).toBe('jules-status');
  });
});
