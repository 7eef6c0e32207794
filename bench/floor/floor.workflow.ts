import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** The floor's update: answered at once, with nothing read or written. */
export const floorAdmitUpdate = defineUpdate<string, [string]>('floorAdmit');

/**
 * bench/ack-floor's workflow: the least a workflow can do and still answer an update-with-start. Its handler answers
 * at once; the workflow then waits a minute and ends, as a task waiting for its confirmation would.
 */
export async function floorWorkflow(): Promise<void> {
  setHandler(floorAdmitUpdate, (id) => id);
  await condition(() => false, '1 minute');
}
