import type { Logger } from 'pino';
import type { ServiceMetrics } from '../src/metrics/service-metrics';
import type { SecretBox } from '../src/crypto/secret-box';
import type { DiscordMessenger } from '../src/discord/messenger';
import type { PlanBoard } from '../src/discord/plan-board';
import type { GitHubClient } from '../src/github/github-client';
import type { JulesClientFactory } from '../src/jules/jules-client';
import type { Store } from '../src/store/store';
import type { AnnouncerFactory } from '../src/tasks/announcer';
import type { PullRequestWakes } from '../src/tasks/pull-request-wakes';

/** What activities need from the outside world. `main` wires the real adapters; tests pass emulator-backed ones. */
export interface ActivityDeps {
  readonly store: Store;
  /** Decrypts stored Jules keys; used only inside the activity that calls Jules. */
  readonly secrets: SecretBox;
  readonly julesClientFor: JulesClientFactory;
  readonly discord: DiscordMessenger;
  /**
   * Tells people what a task does (plans, questions, progress, notices), for the audience an input names.
   * Optional for the composition roots' sake: absent, {@link createActivities} builds the Discord announcers
   * over `discord` and `log`.
   */
  readonly announcerFor?: AnnouncerFactory;
  /** The plans' cards as status tables; absent, {@link createActivities} builds it over `store` and `discord`. */
  readonly planBoard?: PlanBoard;
  /** GitHub, when credentials (or the emulator) are configured: pull requests are then followed to merge. */
  readonly github?: GitHubClient;
  /**
   * How webhook deliveries about followed pull requests reach their follow-through (the process's one instance,
   * shared with the ingress when it runs here). Absent: follow-throughs ask for a signal per delivery instead.
   */
  readonly pullRequestWakes?: PullRequestWakes;
  readonly log: Logger;
  /**
   * The process's `jules_` series: admission counts quota refusals and which key pays. A retried admission finds
   * its row and counts again; rare, and the counts are rates, not a ledger.
   */
  readonly metrics?: Pick<ServiceMetrics, 'quotaRefusals' | 'admittedTasks'>;
  /**
   * The Temporal Web UI page of a workflow (`webUiWorkflowUrl`), when the UI's address is known: a task's thread then
   * opens with the link for operators. Absent (a cluster without TEMPORAL_UI_URL), threads start without it.
   */
  readonly workflowUrl?: (workflowId: string) => string;
}
