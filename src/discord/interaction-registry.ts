import type { PlanControl } from '../temporal/plan-control';
import type { TaskControl } from '../temporal/task-control';
import type { ComponentRoute, SlashCommand } from './interaction-kit';
import { createHistoryCommand } from './history.command';
import { createJulesCommand } from './jules.command';
import { createKeyCommand, type KeyPorts } from './key.command';
import { createOpsCommand, type OpsPorts } from './ops.command';
import { createPlanCommands, type PlanReader } from './plan.commands';
import { createPlanComponents } from './plan.components';
import { createSetupFeature, type SetupPorts } from './setup.command';
import { createRetryCommand, type RetryPorts } from './retry.command';
import { createStatusCommand, type TaskLister } from './status.command';
import { createTaskComponents } from './task.components';
import { createUsageCommand, type UsagePorts } from './usage.command';

/** What the handlers need: the ports they call. */
export interface InteractionPorts {
  readonly tasks: TaskControl;
  /** Absent without GitHub: the plan commands then say what is missing. */
  readonly plans?: PlanControl;
  /** The projection, read by `/jules-status`, `/status` and the run id autocomplete; members' keys for `/jules-key`; guild setup and usage. */
  readonly store: TaskLister & PlanReader & OpsPorts['store'] & KeyPorts['store'] & RetryPorts['store'] & SetupPorts['store'] & UsagePorts['store'];
  /** Seals a key typed into a form (`/jules-key set`, `/jules-setup`'s default key) before it is stored. */
  readonly secrets: KeyPorts['secrets'];
  /** The process's metrics, whose last hour `/jules-ops` reports. */
  readonly metrics?: OpsPorts['metrics'];
  /** The task queue's workers and backlog, which `/jules-ops` reports. */
  readonly workers?: OpsPorts['workers'];
}

/** The handlers the dispatcher routes to: commands by name, components by `custom_id` prefix. */
export interface InteractionRegistry {
  readonly commands: ReadonlyMap<string, SlashCommand>;
  readonly components: readonly ComponentRoute[];
}

/**
 * Every command and component family, wired to its ports. A new command is a module with its definition and
 * handler, and one line here (and in `commands.ts`, for registration).
 */
export function buildInteractionRegistry(ports: InteractionPorts): InteractionRegistry {
  const key = createKeyCommand(ports);
  const history = createHistoryCommand(ports);
  const setup = createSetupFeature(ports);
  const commands = [
    createJulesCommand(ports),
    createStatusCommand(ports),
    createOpsCommand(ports),
    ...createPlanCommands(ports),
    key.command,
    history.command,
    createRetryCommand(ports),
    setup.command,
    createUsageCommand(ports),
  ];
  const components = [...createTaskComponents(ports), createPlanComponents(ports), key.form, history.pages, ...setup.components];
  return { commands: new Map(commands.map((command) => [command.definition.name, command])), components };
}

/** The family a `custom_id` belongs to, by its namespace prefix. */
export function routeOf(registry: InteractionRegistry, customId: string): ComponentRoute | undefined {
  return registry.components.find((route) => customId.startsWith(route.prefix));
}
