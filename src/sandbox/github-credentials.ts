/**
 * Who may call the GitHub emulator: tokens (each seeing all or some repositories), and an optional GitHub
 * App whose RS256 JWTs are verified against its public key, whose installations cover repositories, and
 * which mints one-hour installation tokens, as GitHub does.
 * @see https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
 * @see https://docs.github.com/en/rest/apps/apps?apiVersion=2022-11-28#create-an-installation-access-token-for-an-app
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

/** What a token may do. */
export interface TokenGrant {
  readonly login: string;
  /** Full names (`owner/repo`, any case) it can see; unset: every repository. */
  readonly repos?: readonly string[];
  /** May read branch protection (Administration read). */
  readonly admin: boolean;
  readonly kind: 'token' | 'installation';
  /** Installation tokens expire after an hour. */
  readonly expiresAt?: number;
}

/** The App the emulator knows, and where it is installed. */
export interface EmulatedAppOptions {
  readonly appId: number;
  readonly slug?: string;
  /** The public half of the App's key pair (PEM or KeyObject); JWTs must verify against it. */
  readonly publicKey: string | KeyObject;
  /** Installation id → the repositories it covers (`owner/repo`). */
  readonly installations?: Readonly<Record<number, readonly string[]>>;
}

/** Who made a request. */
export type Caller =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'token'; readonly grant: TokenGrant }
  | { readonly kind: 'app'; readonly appId: number }
  | { readonly kind: 'rejected'; readonly message: string };

export interface Credentials {
  identify(authorization: string | undefined, nowMs?: number): Caller;
  canSee(grant: TokenGrant, fullName: string): boolean;
  addToken(token: string, grant?: Partial<Omit<TokenGrant, 'kind' | 'expiresAt'>>): void;
  revokeToken(token: string): void;
  /** The installation covering `fullName`, if the App is installed there. */
  installationFor(fullName: string): number | undefined;
  installationExists(installationId: number): boolean;
  /** Mints an installation token (`ghs_…`) valid for one hour. */
  mintInstallationToken(installationId: number): { token: string; expiresAt: string };
  readonly app?: { readonly appId: number; readonly slug: string };
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;
/** GitHub refuses JWTs valid for more than ten minutes; a minute of clock drift is tolerated. */
const MAX_JWT_LIFETIME_S = 600;
const CLOCK_DRIFT_S = 60;

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks an App JWT as GitHub does: RS256 signature, `iss` = App id, `iat`/`exp` in range. Returns why not, or undefined. */
export function jwtProblem(jwt: string, publicKey: KeyObject, appId: number, nowS: number): string | undefined {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const head = decodePart(header);
  const claims = decodePart(payload);
  if (!head || !claims || head.alg !== 'RS256') return 'A JSON web token could not be decoded';
  if (!verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))) {
    return 'A JSON web token could not be decoded';
  }
  if (String(claims.iss) !== String(appId)) return "'Issuer' claim ('iss') must be an Integer";
  const iat = Number(claims.iat);
  const exp = Number(claims.exp);
  if (!Number.isInteger(iat) || iat > nowS + CLOCK_DRIFT_S) return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
  if (!Number.isInteger(exp) || exp <= nowS) return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  if (exp - iat > MAX_JWT_LIFETIME_S + CLOCK_DRIFT_S) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}

export function createCredentials(app?: EmulatedAppOptions): Credentials {
  const tokens = new Map<string, TokenGrant>();
  const publicKey = app ? (typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey) : undefined;
  const installations = new Map(Object.entries(app?.installations ?? {}).map(([id, repos]) => [Number(id), repos.map((r) => r.toLowerCase())]));
  const slug = app?.slug ?? 'emulated-app';

  return {
    ...(app ? { app: { appId: app.appId, slug } } : {}),
    identify(authorization, nowMs = Date.now()) {
      if (!authorization) return { kind: 'anonymous' };
      const match = /^(token|bearer)\s+(\S+)$/i.exec(authorization.trim());
      if (!match) return { kind: 'rejected', message: 'Bad credentials' };
      const secret = match[2]!;
      const grant = tokens.get(secret);
      if (grant) {
        return grant.expiresAt !== undefined && grant.expiresAt <= nowMs ? { kind: 'rejected', message: 'Bad credentials' } : { kind: 'token', grant };
      }
      if (app && publicKey && JWT_SHAPE.test(secret)) {
        const problem = jwtProblem(secret, publicKey, app.appId, Math.floor(nowMs / 1000));
        return problem ? { kind: 'rejected', message: problem } : { kind: 'app', appId: app.appId };
      }
      return { kind: 'rejected', message: 'Bad credentials' };
    },
    canSee(grant, fullName) {
      return grant.repos === undefined || grant.repos.some((repo) => repo.toLowerCase() === fullName.toLowerCase());
    },
    addToken(token, grant = {}) {
      tokens.set(token, { login: grant.login ?? 'octocat', admin: grant.admin ?? true, kind: 'token', ...(grant.repos ? { repos: grant.repos } : {}) });
    },
    revokeToken(token) {
      tokens.delete(token);
    },
    installationFor(fullName) {
      const wanted = fullName.toLowerCase();
      for (const [id, repos] of installations) if (repos.includes(wanted)) return id;
      return undefined;
    },
    installationExists: (installationId) => installations.has(installationId),
    mintInstallationToken(installationId) {
      const token = `ghs_${randomBytes(18).toString('base64url')}`;
      const expiresAt = Date.now() + 3_600_000;
      // Installation tokens act as the App's bot and, like the README's permission list, cannot read protection.
      tokens.set(token, { login: `${slug}[bot]`, repos: installations.get(installationId) ?? [], admin: false, kind: 'installation', expiresAt });
      return { token, expiresAt: new Date(expiresAt).toISOString() };
    },
  };
}
