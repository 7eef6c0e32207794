import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundle, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { Tracing } from '../telemetry/tracing';
import { FAILURE_CONVERTER_PATH } from './data-converter';

/** Path of the workflows entry the worker bundles. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/**
 * Bundles the workflow code once (about a second); pass the result to every worker of a process. The bundle carries
 * the failure converter that encodes failure messages, since a pre-built bundle ignores the worker's converter paths,
 * and, with tracing, the tracing workflow interceptors for the same reason (without tracing the bundle is as before).
 */
export async function bundleWorkflows(options: { readonly tracing?: Tracing } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    ...(options.tracing ? { workflowInterceptorModules: options.tracing.workerInterceptors.workflowModules } : {}),
    logger: quietBundlerLogger,
  });
}

/** Options of {@link createTaskWorker}. */
export interface TaskWorkerOptions {
  /** The worker's native connection (`connectWorker` in `./connection`). */
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly activities: Activities;
  /** Workflows bundled beforehand ({@link bundleWorkflows}, or its code read back from a file). */
  readonly workflowBundle?: WorkflowBundle;
  /** The data converter every Client and Worker shares (`createDataConverter`): encrypted payloads and failures. */
  readonly dataConverter?: DataConverter;
  /** How long running activities may finish on shutdown before they are cancelled. */
  readonly shutdownGraceTime?: string;
  /** With tracing on: its interceptors and sinks (a `workflowBundle` must then come from `bundleWorkflows({ tracing })`). */
  readonly tracing?: Tracing;
}

/** Creates a worker for the task workflows and their activities on one task queue. */
export async function createTaskWorker(options: TaskWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
    ...(options.tracing ? { interceptors: options.tracing.workerInterceptors, sinks: options.tracing.sinks } : {}),
    // Cancellation reaches an activity only with a heartbeat's answer: a short throttle lets a cancelled
    // session watcher stop within a second (heartbeats write no history).
    maxHeartbeatThrottleInterval: '1s',
  });
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
};
