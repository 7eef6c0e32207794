/**
 * The heartbeat timeout of activities that heartbeat while they work (activities/heartbeat.ts beats every 2 s):
 * how long a step held by a worker that died waits before Temporal retries it elsewhere. Short, because most of
 * these steps have a start-to-close timeout of minutes (a Discord rate limit or a retried GitHub call may need
 * them), and without heartbeats a dead worker's step waited all of that.
 */
export const STEP_HEARTBEAT_TIMEOUT = '15s';
