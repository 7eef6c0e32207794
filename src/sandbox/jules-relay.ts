/**
 * Plays a Jules relay's side of `POST /webhook/jules` in tests, `bench/` and by hand: signs events exactly
 * as the README's contract says and posts them. Jules itself has no webhooks (reference/jules-api.md §5);
 * a relay is whatever watches sessions and pushes their changes here.
 */
import { randomUUID } from 'node:crypto';
import { JULES_WEBHOOK_HEADERS, JULES_WEBHOOK_PATH, signJulesWebhook } from '../http/jules-webhook.route';

/** An event as a relay pushes it; extra fields are allowed and ignored by the service. */
export interface JulesWebhookEvent {
  readonly id?: string;
  /** `sessions/123` (or the bare id). */
  readonly session: string;
  readonly state?: string;
  readonly type?: string;
  readonly activity?: unknown;
  readonly [field: string]: unknown;
}

/** How to sign one request; defaults make a fresh, valid delivery. */
export interface SignOptions {
  /** Unix seconds; default now. */
  readonly timestamp?: number;
  /** `X-Jules-Delivery`; default a new UUID. `null` leaves the header out (the body's `id` then counts). */
  readonly deliveryId?: string | null;
}

/** A signed request, ready for fastify's `inject()` or fetch. */
export interface SignedJulesWebhook {
  readonly body: string;
  readonly deliveryId?: string;
  readonly headers: Record<string, string>;
}

/**
 * Signs a raw body (sent as is, so tests can sign malformed JSON) with the contract's headers.
 */
export function signJulesWebhookRequest(secret: string, rawBody: string, options: SignOptions = {}): SignedJulesWebhook {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const deliveryId = options.deliveryId === undefined ? randomUUID() : options.deliveryId ?? undefined;
  return {
    body: rawBody,
    ...(deliveryId !== undefined ? { deliveryId } : {}),
    headers: {
      'content-type': 'application/json',
      [JULES_WEBHOOK_HEADERS.timestamp]: timestamp,
      [JULES_WEBHOOK_HEADERS.signature]: signJulesWebhook(secret, timestamp, rawBody),
      ...(deliveryId !== undefined ? { [JULES_WEBHOOK_HEADERS.delivery]: deliveryId } : {}),
    },
  };
}

/** What the service answered a push. */
export interface RelayResponse {
  readonly status: number;
  readonly body: unknown;
  readonly deliveryId?: string;
}

/** Pushes events to one service over HTTP. */
export interface JulesRelay {
  /** Signs and posts one event (a new delivery unless `options.deliveryId` repeats one). */
  push(event: JulesWebhookEvent, options?: SignOptions): Promise<RelayResponse>;
}

/** A relay posting to `${baseUrl}/webhook/jules` with the shared secret (`JULES_WEBHOOK_SECRET`). */
export function createJulesRelay(options: { readonly baseUrl: string; readonly secret: string }): JulesRelay {
  // Appended rather than resolved, so a base URL with a path prefix (behind a proxy) keeps it.
  const url = `${options.baseUrl.replace(/\/+$/, '')}${JULES_WEBHOOK_PATH}`;
  return {
    async push(event, signOptions) {
      const signed = signJulesWebhookRequest(options.secret, JSON.stringify(event), signOptions);
      const response = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (a proxy's error page): hand back the text.
      }
      return { status: response.status, body, ...(signed.deliveryId !== undefined ? { deliveryId: signed.deliveryId } : {}) };
    },
  };
}
