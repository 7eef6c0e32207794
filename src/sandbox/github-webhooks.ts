/**
 * The GitHub emulator's webhook sender: posts each event once, signed over its exact bytes, with GitHub's
 * headers, and never retries (GitHub does not either). `redeliver` re-sends the same bytes under the same
 * `X-GitHub-Delivery`, as GitHub's "Redeliver" button does. Deliveries go out one at a time, in order.
 * @see https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
 * @see https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GITHUB_WEBHOOK_HEADERS } from '../github/webhook-events';
import { signGitHubWebhook } from '../github/webhook-signature';

/** Where deliveries go. */
export interface WebhookTarget {
  readonly url: string;
  /** Unset: deliveries are not signed, as for a hook without a secret. */
  readonly secret?: string;
  /** Event names to send; unset: all. */
  readonly events?: readonly string[];
}

/** One attempt to deliver an event. */
export interface DeliveryRecord {
  /** `X-GitHub-Delivery`; a redelivery repeats the original's. */
  readonly id: string;
  readonly event: string;
  readonly action?: string;
  /** The exact bytes sent. */
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly redelivery: boolean;
  /** The receiver's HTTP status; undefined when no answer came (see `error`). */
  status?: number;
  error?: string;
}

/** Sends and remembers deliveries. */
export interface WebhookSender {
  readonly deliveries: DeliveryRecord[];
  setTarget(target: WebhookTarget | undefined): void;
  /** Queues one event; a no-op without a target or when the target does not subscribe to it. */
  emit(event: string, payload: Record<string, unknown>): void;
  redeliver(deliveryId: string): Promise<DeliveryRecord>;
  /** Resolves once every queued delivery has been answered or has failed. */
  flush(): Promise<void>;
}

/** GitHub waits 10 s for an answer, then counts the delivery as failed. */
const DELIVERY_TIMEOUT_MS = 10_000;

export function createWebhookSender(hookId: number, initial?: WebhookTarget): WebhookSender {
  let target = initial;
  const deliveries: DeliveryRecord[] = [];
  const userAgent = `GitHub-Hookshot/${randomBytes(4).toString('hex').slice(0, 7)}`;
  let queue: Promise<void> = Promise.resolve();

  async function send(record: DeliveryRecord, url: string): Promise<void> {
    try {
      const response = await fetch(url, { method: 'POST', headers: record.headers, body: record.body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
      await response.arrayBuffer();
      record.status = response.status;
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
  }

  function enqueue(record: DeliveryRecord, url: string): Promise<DeliveryRecord> {
    deliveries.push(record);
    const sent = queue.then(() => send(record, url));
    queue = sent;
    return sent.then(() => record);
  }

  return {
    deliveries,
    setTarget(next) {
      target = next;
    },
    emit(event, payload) {
      if (!target || (target.events && !target.events.includes(event) && !target.events.includes('*'))) return;
      const body = Buffer.from(JSON.stringify(payload));
      const id = randomUUID();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': userAgent,
        [GITHUB_WEBHOOK_HEADERS.event]: event,
        [GITHUB_WEBHOOK_HEADERS.delivery]: id,
        [GITHUB_WEBHOOK_HEADERS.hookId]: String(hookId),
        'x-github-hook-installation-target-type': 'repository',
        'x-github-hook-installation-target-id': String((payload.repository as { id?: number } | undefined)?.id ?? 0),
        ...(target.secret ? { [GITHUB_WEBHOOK_HEADERS.signature]: signGitHubWebhook(target.secret, body) } : {}),
      };
      const action = typeof payload.action === 'string' ? payload.action : undefined;
      void enqueue({ id, event, ...(action ? { action } : {}), body, headers, redelivery: false }, target.url);
    },
    async redeliver(deliveryId) {
      const original = deliveries.find((delivery) => delivery.id === deliveryId && !delivery.redelivery);
      if (!original) throw new Error(`no delivery ${deliveryId}`);
      if (!target) throw new Error('the emulator has no webhook target');
      const { status: _status, error: _error, ...copy } = original;
      return enqueue({ ...copy, redelivery: true }, target.url);
    },
    flush: () => queue,
  };
}
