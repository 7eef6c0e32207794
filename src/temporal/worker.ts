import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../activities';

/** Path of the workflows entry the worker bundles. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Bundles the workflow code once (about a second); pass the result to every worker of a process. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

/** Options of {@link createTaskWorker}. */
export interface TaskWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly activities: Activities;
  readonly workflowBundle?: WorkflowBundleWithSourceMap;
  /** How long running activities may finish on shutdown before they are cancelled. */
  readonly shutdownGraceTime?: string;
}

/** Creates a worker for the task workflows and their activities on one task queue. */
export async function createTaskWorker(options: TaskWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
  });
}

/** Connects a worker's native connection. */
export async function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};
