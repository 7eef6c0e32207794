/**
 * Who and what the tests talk about: the test guild and its members, the keys the Jules emulator accepts, the
 * codec token and GitHub's secrets. Free of vitest, so benches and child-process helpers can import it too.
 */

/** Ids of the test guild: developers ask, leads confirm, outsiders do neither. */
export const GUILD = {
  id: '800000000000000001',
  channelId: '800000000000000002',
  developerRole: '800000000000000010',
  leadRole: '800000000000000011',
  developer: '800000000000000100',
  lead: '800000000000000101',
  outsider: '800000000000000102',
  repo: 'acme/widgets',
} as const;

/** The stack's `/codec` token and the one browser origin allowed to call it (the embedded Web UI's default). */
export const CODEC = { token: 'test-codec-token-0123456789', origin: 'http://127.0.0.1:8233' } as const;

/** Keys the Jules emulator accepts; they must never show up in history, logs or Discord. */
export const KEYS = { personal: 'AQ.personal-key-0123456789abcdef', guild: 'AQ.guild-key-fedcba9876543210' } as const;

/** The GitHub emulator's token and webhook secret in a test stack. */
export const GITHUB = { token: 'test-github-token-0123456789', webhookSecret: 'test-github-webhook-secret' } as const;

/** Members of the test guild, as interactions carry them. */
export const MEMBERS = {
  developer: { id: GUILD.developer, roles: [GUILD.developerRole] },
  lead: { id: GUILD.lead, roles: [GUILD.leadRole] },
  outsider: { id: GUILD.outsider, roles: [] as string[] },
} as const;
