/**
 * What a Jules request may name, checked the same way by the `/jules` command, the daily plan's commands, the CLI's
 * guild settings and `/jules-setup`: the repository and branch rules are the guild settings' (guild-settings.ts),
 * plus the prompt's limit. Plain data and functions, so the CLI checks its flags without loading discord.js.
 */
import { SETTING_LIMITS } from './guild-settings';

export { isBranchName, REPO_PATTERN } from './guild-settings';

/** Limits shared by the command definition and the handler's validation, so they never disagree. */
export const JULES_LIMITS = { promptMax: 4000, ...SETTING_LIMITS } as const;
