import { historyCommand } from './history.command';
import { julesCommand } from './jules.command';
import { keyCommand } from './key.command';
import { opsCommand } from './ops.command';
import { approveCommand, planCommand, planStatusCommand, shipCommand } from './plan.commands';
import { setupCommand } from './setup.command';
import { retryCommand } from './retry.command';
import { statusCommand } from './status.command';
import { usageCommand } from './usage.command';

export { julesCommand } from './jules.command';
export { statusCommand };

/**
 * Every slash command the bot registers (`register-commands`). Each definition lives beside its handler; the
 * dispatcher's registry (`interaction-registry.ts`) pairs them, and a test checks the two lists agree.
 */
export const COMMANDS = [julesCommand, statusCommand, opsCommand, planCommand, approveCommand, planStatusCommand, shipCommand, keyCommand, historyCommand, retryCommand, setupCommand, usageCommand] as const;
