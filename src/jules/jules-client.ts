/**
 * The Jules API port: the typed operations this service uses, independent of HTTP.
 * Types follow ../shared/reference/jules-api.md; every field the alpha API may omit is optional,
 * and unknown states and activity kinds pass through as strings.
 * @see https://developers.google.com/jules/api/reference/rest
 */

/** A connected repository (`GET /v1alpha/sources`). Use `name` exactly as returned. */
export interface JulesSource {
  readonly name: string;
  readonly id?: string;
  readonly githubRepo?: {
    readonly owner: string;
    readonly repo: string;
    readonly isPrivate?: boolean;
    readonly defaultBranch?: { readonly displayName: string };
    readonly branches?: readonly { readonly displayName: string }[];
  };
}

/** One output of a finished session. */
export interface JulesOutput {
  readonly pullRequest?: { readonly url: string; readonly title?: string; readonly description?: string };
  readonly changeSet?: unknown;
}

/** A Jules session (`sessions/{id}`). */
export interface JulesSession {
  readonly name: string;
  readonly id?: string;
  readonly title?: string;
  readonly prompt?: string;
  readonly state?: string;
  readonly url?: string;
  readonly createTime?: string;
  readonly updateTime?: string;
  readonly outputs?: readonly JulesOutput[];
}

/** One activity of a session; exactly one of the payload keys is usually set, sometimes none. */
export interface JulesActivity {
  readonly name: string;
  readonly id?: string;
  readonly description?: string;
  readonly createTime?: string;
  readonly originator?: string;
  readonly agentMessaged?: { readonly agentMessage?: string };
  readonly userMessaged?: { readonly userMessage?: string };
  readonly planGenerated?: {
    readonly plan?: {
      readonly id?: string;
      readonly steps?: readonly { readonly id?: string; readonly title?: string; readonly description?: string; readonly index?: number }[];
    };
  };
  readonly planApproved?: { readonly planId?: string };
  readonly progressUpdated?: { readonly title?: string; readonly description?: string };
  readonly sessionCompleted?: Record<string, never>;
  readonly sessionFailed?: { readonly reason?: string };
}

/** A page of a list call. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken?: string;
}

/** `POST /v1alpha/sessions` input. */
export interface CreateSessionInput {
  readonly prompt: string;
  readonly title: string;
  readonly source: string;
  readonly startingBranch?: string;
  readonly requirePlanApproval?: boolean;
  readonly automationMode?: 'AUTOMATION_MODE_UNSPECIFIED' | 'AUTO_CREATE_PR';
}

/** The operations this service needs from Jules, for one API key. */
export interface JulesClient {
  listSources(pageToken?: string): Promise<Page<JulesSource>>;
  /** Pages through the sources for `owner/repo`; undefined when Jules has no access to it. */
  findSource(owner: string, repo: string): Promise<JulesSource | undefined>;
  createSession(input: CreateSessionInput): Promise<JulesSession>;
  getSession(name: string): Promise<JulesSession>;
  listSessions(pageToken?: string): Promise<Page<JulesSession>>;
  listActivities(session: string, options?: { pageToken?: string; createTimeAfter?: string }): Promise<Page<JulesActivity>>;
  approvePlan(session: string): Promise<void>;
  sendMessage(session: string, prompt: string): Promise<void>;
  /**
   * Archives a session (hidden from lists). Not in the September 2025 reference, present in the official SDK:
   * UNCERTAIN, so callers treat a failure as harmless.
   */
  archiveSession(session: string): Promise<void>;
  /** Deletes a session; one already gone (404) counts as deleted. UNCERTAIN like archive. */
  deleteSession(session: string): Promise<void>;
}

/** Makes a client for one decrypted API key. Activities call it inside the activity only. */
export type JulesClientFactory = (apiKey: string) => JulesClient;
