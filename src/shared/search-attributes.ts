import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes the task workflow sets, so an operator can filter runs in the Web UI
 * (for example `JulesTaskStatus = "in_progress" AND JulesGuildId = "123"`).
 * Search attributes are plaintext in Temporal: ids and statuses only, never prompts or keys.
 */
export const GUILD_ID = defineSearchAttributeKey('JulesGuildId', SearchAttributeType.KEYWORD);
/** Discord id of the member who asked for the task. */
export const REQUESTER_ID = defineSearchAttributeKey('JulesRequesterId', SearchAttributeType.KEYWORD);
/** The task's current status (one of TASK_STATUSES). */
export const TASK_STATUS = defineSearchAttributeKey('JulesTaskStatus', SearchAttributeType.KEYWORD);
/** `owner/repo` the task works on. */
export const REPO = defineSearchAttributeKey('JulesRepo', SearchAttributeType.KEYWORD);

/** Every custom search attribute, for registering them with a server. */
export const SEARCH_ATTRIBUTE_KEYS = [GUILD_ID, REQUESTER_ID, TASK_STATUS, REPO] as const;
