import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';

/** What an update sent from the ingress came to: its value, its validator's refusal in words, or a workflow that ended. */
export type Settled<T> = { readonly kind: 'done'; readonly value: T } | { readonly kind: 'refused'; readonly reason: string } | { readonly kind: 'gone' };

/** Runs one update (or query) of a workflow; a validator's refusal and a finished workflow become answers, not errors. */
export async function settle<T>(update: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { kind: 'done', value: await update() };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return { kind: 'refused', reason: err.cause?.message ?? err.message };
    if (err instanceof WorkflowNotFoundError || isClosed(err)) return { kind: 'gone' };
    throw err;
  }
}

/** Whether the server said the workflow is over or unknown (the messages differ by server version). */
export function isClosed(err: unknown): boolean {
  return err instanceof Error && /(already completed|workflow execution already|not found)/i.test(err.message);
}
