/**
 * The page of a workflow in the Temporal Web UI, e.g. `http://127.0.0.1:8233/namespaces/default/workflows/task-1`
 * (Temporal Cloud: `https://cloud.temporal.io`). The one builder of that link: the demos print it, the task's thread
 * offers it to operators.
 * @param uiUrl the Web UI's base URL: the embedded server's, or TEMPORAL_UI_URL
 * @see https://docs.temporal.io/web-ui
 */
export function webUiWorkflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
