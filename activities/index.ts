import { createDiscordAnnouncers } from '../src/discord/discord-announcers';
import { createPlanBoard } from '../src/discord/plan-board';
import { createPullRequestMirror } from '../src/discord/pr-mirror';
import type { ActivityDeps } from './deps';
import { createDiscordActivities } from './discord.activities';
import { createFixActivities } from './fix.activities';
import { createGitHubActivities } from './github.activities';
import { createJulesActivities } from './jules.activities';
import { createPlanActivities } from './plan.activities';
import { createSlotActivities } from './slot.activities';
import { createStoreActivities } from './store.activities';
import { createWatchActivities } from './watch.activities';

export type { ActivityDeps } from './deps';

/** Every activity a worker registers, built from explicit dependencies. */
export function createActivities(deps: ActivityDeps) {
  const announcerFor = deps.announcerFor ?? createDiscordAnnouncers(deps);
  const planBoard = deps.planBoard ?? createPlanBoard(deps);
  return {
    ...createStoreActivities(deps),
    ...createJulesActivities(deps),
    ...createDiscordActivities({ ...deps, planBoard }),
    ...createPlanActivities({ ...deps, planBoard }),
    ...createWatchActivities({ ...deps, announcerFor }),
    ...createSlotActivities({ ...deps, announcerFor, planBoard }),
    ...createGitHubActivities({ ...deps, announcerFor, pullRequestMirror: createPullRequestMirror({ ...deps, planBoard }) }),
    ...createFixActivities(deps),
  };
}

/** The activity functions, as workflows see them (workflows import this type only). */
export type Activities = ReturnType<typeof createActivities>;
