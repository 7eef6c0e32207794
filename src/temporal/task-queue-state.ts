import type { Client } from '@temporalio/client';
import { optionalTsToDate, optionalTsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';

/** Who polls one kind of task on the task queue, and what waits there. */
export interface TaskQueueKindState {
  /** Workers that polled recently (the server forgets a poller about five minutes after its last poll). */
  readonly pollers: number;
  /** The most recent poll of any of them; undefined with no pollers. */
  readonly lastPollAt?: Date;
  /** Tasks waiting for a worker, and how long the oldest has waited; undefined when the server does not report stats. */
  readonly backlog?: { readonly count: number; readonly ageMs: number };
}

/** The task queue as `/jules-ops` shows it: the workers on it and its backlog, for workflow and activity tasks. */
export interface TaskQueueState {
  readonly taskQueue: string;
  readonly workflow: TaskQueueKindState;
  readonly activity: TaskQueueKindState;
}

/** The port `/jules-ops` reads the worker state and backlog from. */
export interface TaskQueueInspector {
  /** @throws whatever the Temporal call throws (Temporal down, permission denied): the caller says it could not look. */
  describe(): Promise<TaskQueueState>;
}

// The default import: @temporalio/proto is CommonJS, and Node's ESM loader finds no named `temporal` export in it.
const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/**
 * Reads the task queue with `DescribeTaskQueue`: its pollers (with their last access time) and, with `reportStats`,
 * the approximate backlog count and age. Servers before 1.25 do not report stats in this mode: then `backlog` stays
 * undefined rather than reading as zero.
 * @see https://docs.temporal.io/references/server-api (WorkflowService.DescribeTaskQueue)
 */
export function createTaskQueueInspector(options: { readonly client: Client; readonly taskQueue: string }): TaskQueueInspector {
  const { client, taskQueue } = options;
  const describeKind = async (taskQueueType: proto.temporal.api.enums.v1.TaskQueueType): Promise<TaskQueueKindState> => {
    const response = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType,
      reportStats: true,
    });
    const polls = response.pollers.map((poller) => optionalTsToDate(poller.lastAccessTime)?.getTime() ?? 0).filter((ms) => ms > 0);
    const stats = response.stats;
    return {
      pollers: response.pollers.length,
      ...(polls.length ? { lastPollAt: new Date(Math.max(...polls)) } : {}),
      ...(stats ? { backlog: { count: Number(stats.approximateBacklogCount ?? 0), ageMs: optionalTsToMs(stats.approximateBacklogAge) ?? 0 } } : {}),
    };
  };
  return {
    async describe() {
      const [workflow, activity] = await Promise.all([describeKind(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), describeKind(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
      return { taskQueue, workflow, activity };
    },
  };
}
