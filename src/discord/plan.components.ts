import { ComponentType } from '@discordjs/core/http-only';
import type { PlanControl } from '../temporal/plan-control';
import { decodePlanId, PLAN_PREFIX } from './custom-id';
import { ephemeral, FAILURE_TEXT, memberOf, updateMessage, type ComponentRoute } from './interaction-kit';
import { renderPlanCard } from './plan-card';

const PLAN_OVER = 'This plan run is over, so its card no longer acts. `/status` shows how it ended.';

/**
 * A plan card's Approve and Cancel buttons and its menu to drop items. Approve and drop carry the revision the card
 * showed; the workflow's validator refuses a stale one, so nobody approves a plan they have not seen.
 */
export function createPlanComponents({ plans }: { readonly plans?: PlanControl }): ComponentRoute {
  return {
    prefix: PLAN_PREFIX,
    async handleComponent(interaction) {
      const id = decodePlanId(interaction.data.custom_id);
      if (!id || !plans) return ephemeral(FAILURE_TEXT.staleButton);
      if (!interaction.member) return ephemeral(FAILURE_TEXT.directMessage);
      const member = memberOf(interaction.member);
      const result =
        id.action === 'approve'
          ? await plans.approve(id.runId, member, id.revision)
          : id.action === 'cancel'
            ? await plans.cancel(id.runId, member)
            : interaction.data.component_type === ComponentType.StringSelect && id.revision !== undefined
              ? await plans.drop(id.runId, member, id.revision, interaction.data.values.map(Number).filter(Number.isSafeInteger))
              : undefined;
      if (!result) return ephemeral(FAILURE_TEXT.staleButton);
      switch (result.kind) {
        case 'done':
          // The click's own answer redraws the card at once; the workflow's next publish redraws it from the projection.
          return updateMessage(renderPlanCard(result.value));
        case 'refused':
          return ephemeral(`🚫 ${result.reason}`);
        case 'gone':
          return ephemeral(PLAN_OVER);
      }
    },
  };
}
