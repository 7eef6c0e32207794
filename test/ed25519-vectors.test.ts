import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDiscordVerifier, createEd25519Verifier } from '../src/crypto/discord-signature';
import { InvalidPublicKeyError } from '../src/crypto/errors';
import { signGitHubWebhook, verifyGitHubSignature } from '../src/github/webhook-signature';
import { verifyHmacSha256 } from '../src/crypto/hmac';
import { createTally } from './helpers/reliability-tally';

/**
 * Our signature checks against vectors nobody here wrote (test/vectors/README.md says where each comes from):
 * every one must agree, valid and invalid alike.
 */

const VECTORS = join(import.meta.dirname, 'vectors');
const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(VECTORS, name), 'utf8')) as T;

interface RfcVector {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}
interface WycheproofFile {
  readonly numberOfTests: number;
  readonly testGroups: readonly {
    readonly publicKey: { readonly pk: string };
    readonly tests: readonly { readonly tcId: number; readonly comment: string; readonly msg: string; readonly sig: string; readonly result: 'valid' | 'invalid'; readonly flags: readonly string[] }[];
  }[];
}

const rfc = readJson<{ vectors: RfcVector[] }>('ed25519-rfc8032.json').vectors;
const wycheproof = readJson<WycheproofFile>('wycheproof-ed25519_test.json');
const github = readJson<{ secret: string; payload: string; signature: string }>('github-webhook-hmac.json');

const tally = { vectors: 0, agreed: 0, disagreed: [] as string[] };
const outcomes = createTally('signature-vectors');
afterAll(() => {
  outcomes.write({ vectors: { tried: tally.vectors, agreed: tally.agreed, disagreed: tally.disagreed } });
});

function agree(id: string, expected: boolean, actual: boolean): void {
  tally.vectors += 1;
  if (expected === actual) tally.agreed += 1;
  else tally.disagreed.push(id);
  outcomes.record(id.split(' ')[0]!, actual ? 'accepted' : 'refused');
}

/**
 * Discord signs `timestamp ‖ body`. A vector's message goes through that path too, split after its first byte
 * (an ASCII byte, so the timestamp is the same bytes as a string); an empty message has no such split.
 */
function throughDiscordPath(publicKey: string, messageHex: string, signatureHex: string): boolean | undefined {
  const message = Buffer.from(messageHex, 'hex');
  if (message.length === 0 || message[0]! >= 0x80) return undefined;
  return createDiscordVerifier(publicKey)(message.subarray(1), signatureHex, String.fromCharCode(message[0]!));
}

describe('Ed25519 verification against RFC 8032, section 7.1', () => {
  it.each(rfc)('$name: the key and signature are what the RFC says, and our verifier accepts only them', (vector) => {
    // The secret key derives the public key, and Ed25519 is deterministic: the RFC's signature is reproduced here.
    const secret = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(vector.secretKey, 'hex')]), format: 'der', type: 'pkcs8' });
    expect(createPublicKey(secret).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex')).toBe(vector.publicKey);
    expect(sign(null, Buffer.from(vector.message, 'hex'), secret).toString('hex')).toBe(vector.signature);

    const verify = createEd25519Verifier(vector.publicKey);
    agree(`rfc8032 ${vector.name}`, true, verify(Buffer.from(vector.message, 'hex'), vector.signature));
    agree(`rfc8032 ${vector.name} uppercase hex`, true, verify(Buffer.from(vector.message, 'hex'), vector.signature.toUpperCase()));
    const flipped = Buffer.from(vector.signature, 'hex');
    flipped[0]! ^= 1;
    agree(`rfc8032 ${vector.name} one bit flipped`, false, verify(Buffer.from(vector.message, 'hex'), flipped.toString('hex')));
    const viaDiscord = throughDiscordPath(vector.publicKey, vector.message, vector.signature);
    if (viaDiscord !== undefined) agree(`rfc8032 ${vector.name} as timestamp+body`, true, viaDiscord);
  });
});

describe('Ed25519 verification against Wycheproof (ed25519_test.json)', () => {
  const cases = wycheproof.testGroups.flatMap((group) => group.tests.map((test) => ({ ...test, publicKey: group.publicKey.pk })));

  it('holds every test case the file announces', () => {
    expect(cases).toHaveLength(wycheproof.numberOfTests);
    expect(cases.filter((test) => test.result === 'valid').length).toBeGreaterThan(0);
    expect(cases.filter((test) => test.result === 'invalid').length).toBeGreaterThan(0);
  });

  it('agrees with every valid and invalid case, directly and as Discord signs (timestamp + body)', () => {
    const wrong: string[] = [];
    for (const test of cases) {
      const expected = test.result === 'valid';
      let verify: ReturnType<typeof createEd25519Verifier> | undefined;
      try {
        verify = createEd25519Verifier(test.publicKey);
      } catch (error) {
        // A key we refuse outright can only carry invalid cases.
        expect(error).toBeInstanceOf(InvalidPublicKeyError);
      }
      const direct = verify ? verify(Buffer.from(test.msg, 'hex'), test.sig) : false;
      agree(`wycheproof tcId ${test.tcId}`, expected, direct);
      if (direct !== expected) wrong.push(`tcId ${test.tcId} (${test.flags.join(', ')}: ${test.comment})`);
      const viaDiscord = verify ? throughDiscordPath(test.publicKey, test.msg, test.sig) : undefined;
      if (viaDiscord !== undefined) {
        agree(`wycheproof-discord tcId ${test.tcId}`, expected, viaDiscord);
        if (viaDiscord !== expected) wrong.push(`tcId ${test.tcId} through the Discord path`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("GitHub's published webhook HMAC example", () => {
  it('is the signature we compute and the one we accept', async () => {
    expect(signGitHubWebhook(github.secret, github.payload)).toBe(github.signature);
    agree('github-hmac docs vector', true, await verifyGitHubSignature([github.secret], Buffer.from(github.payload), github.signature));
    agree('github-hmac raw hex', true, verifyHmacSha256(github.secret, github.payload, github.signature.slice('sha256='.length)));
  });

  it('is refused after a one-byte change to the body, under another secret, or as the legacy sha1= header', async () => {
    agree('github-hmac body changed', false, await verifyGitHubSignature([github.secret], Buffer.from('Hello, World?'), github.signature));
    agree('github-hmac other secret', false, await verifyGitHubSignature(["It's a secret to everybody"], Buffer.from(github.payload), github.signature));
    agree('github-hmac sha1 prefix', false, await verifyGitHubSignature([github.secret], Buffer.from(github.payload), github.signature.replace('sha256=', 'sha1=')));
    agree('github-hmac rotated secrets', true, await verifyGitHubSignature(['an-old-secret', github.secret], Buffer.from(github.payload), github.signature));
  });

  it('leaves every vector agreeing', () => {
    expect(tally.disagreed).toEqual([]);
    expect(tally.agreed).toBe(tally.vectors);
    process.stdout.write(`${JSON.stringify({ signatureVectors: { tried: tally.vectors, agreed: tally.agreed } })}\n`);
  });
});
