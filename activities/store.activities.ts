import type { Admission, TaskRequest } from '../src/shared/task';
import { admitRequest } from '../src/tasks/admission';
import type { ActivityDeps } from './deps';

/** Activities over the task projection and guild configuration. */
export function createStoreActivities(deps: Pick<ActivityDeps, 'store' | 'log' | 'metrics'>) {
  return {
    /**
     * Admission inside the workflow, for requests the ingress did not admit itself: plan items, and tasks started
     * before the ingress admitted (their histories replay this). Idempotent, like {@link admitRequest}.
     */
    async admitTask(request: TaskRequest): Promise<Admission> {
      const { admission } = await admitRequest(deps, request);
      if (admission.admitted) deps.metrics?.admittedTasks.inc({ key_source: admission.keySource });
      return admission;
    },
  };
}
