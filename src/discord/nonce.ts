import { createHash } from 'node:crypto';

/**
 * The nonce of a message a task posts at one step. Discord nonces are at most 25 characters; with
 * `enforce_nonce`, a retried post returns the first message instead of a duplicate.
 */
export function nonceFor(taskId: string, step: string): string {
  return createHash('sha256').update(`${taskId}:${step}`).digest('base64url').slice(0, 25);
}
