import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/discord/commands';
import { BUTTON_PREFIX, MODAL_PREFIX, SETUP_MODAL_PREFIX, SETUP_PREFIX } from '../src/discord/custom-id';
import { buildInteractionRegistry, routeOf } from '../src/discord/interaction-registry';
import type { TaskControl } from '../src/temporal/task-control';

/** The registry is built from ports it never calls while being built, so bare stand-ins are enough here. */
const registry = buildInteractionRegistry({ tasks: {} as TaskControl, store: {} as Parameters<typeof buildInteractionRegistry>[0]['store'], secrets: {} as Parameters<typeof buildInteractionRegistry>[0]['secrets'] });

describe('the interaction registry', () => {
  it('has a handler for every command register-commands sends, and no handler for a command it does not', () => {
    expect([...registry.commands.keys()].sort()).toEqual(COMMANDS.map((command) => command.name).sort());
    for (const command of COMMANDS) expect(registry.commands.get(command.name)?.definition).toBe(command);
  });

  it('routes each custom id namespace to exactly one family', () => {
    const prefixes = registry.components.map((route) => route.prefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const prefix of prefixes) {
      expect(prefixes.filter((other) => other !== prefix && other.startsWith(prefix))).toEqual([]);
    }
    expect(routeOf(registry, `${BUTTON_PREFIX}confirm:task-1`)?.handleComponent).toBeDefined();
    expect(routeOf(registry, `${MODAL_PREFIX}reply:task-1`)?.handleModal).toBeDefined();
    expect(routeOf(registry, `${SETUP_PREFIX}auto_ship:0`)?.handleComponent).toBeDefined();
    expect(routeOf(registry, `${SETUP_MODAL_PREFIX}key:0`)?.handleModal).toBeDefined();
    expect(routeOf(registry, 'someone-else:confirm')).toBeUndefined();
  });
});
