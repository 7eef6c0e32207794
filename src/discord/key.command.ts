import {
  ApplicationCommandOptionType,
  ComponentType,
  InteractionResponseType,
  TextInputStyle,
  type APIInteractionResponse,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from '@discordjs/core/http-only';
import type { SecretBox } from '../crypto/secret-box';
import { JULES_KEY_LENGTH, julesKeyProblem } from '../shared/jules-key';
import type { KeyRepository } from '../store/store';
import { KEY_MODAL_ID, KEY_MODAL_PREFIX, MODAL_TEXT_FIELD } from './custom-id';
import { ephemeral, FAILURE_TEXT, subcommandOf, type ComponentRoute, type SlashCommand } from './interaction-kit';
import { readModalText } from './modals';
import type { TaskLister } from './status.command';

/** `/jules-key set | status | remove`: a member's own Jules API key, which pays for their tasks before a server's default. */
export const keyCommand = {
  name: 'jules-key',
  description: 'Your own Jules API key: set it through a private form, see since when it is set, or remove it.',
  options: [
    { type: ApplicationCommandOptionType.Subcommand, name: 'set', description: 'Set or replace your personal Jules API key (a private form; never shown back)' },
    { type: ApplicationCommandOptionType.Subcommand, name: 'status', description: 'Whether you have a personal Jules key, and since when' },
    { type: ApplicationCommandOptionType.Subcommand, name: 'remove', description: 'Delete your personal Jules key; your next tasks use the server’s default' },
  ],
} as const satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What `/jules-key` reads and writes: the member's key, and their open tasks (what a removal stops). */
export interface KeyPorts {
  readonly store: Pick<KeyRepository, 'setUserKey' | 'getUserKeySetAt' | 'removeUserKey'> & TaskLister;
  /** Seals the key before it is stored; nothing else sees it in plaintext. */
  readonly secrets: Pick<SecretBox, 'encrypt'>;
}

const WHERE_KEYS_ARE = 'https://jules.google.com/settings#api';

/** The words of `/jules-key`, said once so tests and handlers agree. None of them quotes a key. */
export const KEY_TEXT = {
  saved:
    '🔑 Your personal Jules key is saved, encrypted. It pays for your next tasks (your own key comes before a server’s default). ' +
    'It is never shown back: `/jules-key status` says since when, `/jules-key remove` deletes it.',
  none: 'You have no personal Jules key: your tasks use the server’s default key, if it has one. `/jules-key set` adds yours.',
  removed: 'Your personal Jules key is deleted. Your next tasks use the server’s default key, if it has one.',
  notSaved: (problem: string) => `Not saved: ${problem}. Copy the key from ${WHERE_KEYS_ARE} and run \`/jules-key set\` again.`,
} as const;

/**
 * `/jules-key`, answered privately, and the form it opens. `set` answers with the form (a modal: what a member types
 * there is never shown in the channel); its submission is checked, sealed with the secret box and stored. Works in
 * a server and in a direct message with the bot: the key is the member's, not a server's.
 */
export function createKeyCommand(ports: KeyPorts): { readonly command: SlashCommand; readonly form: ComponentRoute } {
  return {
    command: {
      definition: keyCommand,
      async handle(interaction) {
        const userId = interaction.member?.user.id ?? interaction.user?.id;
        if (!userId) return ephemeral(FAILURE_TEXT.unsupported);
        const subcommand = subcommandOf(interaction)?.name;
        switch (subcommand) {
          case 'set':
            return keyForm();
          case 'status': {
            const setAt = await ports.store.getUserKeySetAt(userId);
            if (!setAt) return ephemeral(KEY_TEXT.none);
            const at = Math.floor(setAt.getTime() / 1000);
            return ephemeral(`You have a personal Jules key, set <t:${at}:R> (<t:${at}:f>). It pays for your tasks before a server’s default.`);
          }
          case 'remove': {
            if (!(await ports.store.removeUserKey(userId))) return ephemeral(KEY_TEXT.none);
            const running = (await ports.store.listTasks({ requesterId: userId, open: true, limit: 50 })).filter((task) => task.keySource === 'personal');
            const warning =
              running.length === 0
                ? ''
                : `\n⚠️ ${running.length} of your open tasks ${running.length === 1 ? 'was' : 'were'} paid with it and will stop at their next call to Jules, unless you set a key again first.`;
            return ephemeral(`${KEY_TEXT.removed}${warning}`);
          }
          default:
            return ephemeral('Use `/jules-key set`, `/jules-key status` or `/jules-key remove`.');
        }
      },
    },
    form: {
      prefix: KEY_MODAL_PREFIX,
      async handleModal(interaction) {
        const userId = interaction.member?.user.id ?? interaction.user?.id;
        if (!userId || interaction.data.custom_id !== KEY_MODAL_ID) return ephemeral(FAILURE_TEXT.staleModal);
        const key = (readModalText(interaction.data.components) ?? '').trim();
        const problem = julesKeyProblem(key);
        if (problem) return ephemeral(KEY_TEXT.notSaved(problem));
        await ports.store.setUserKey(userId, ports.secrets.encrypt(key));
        return ephemeral(KEY_TEXT.saved);
      },
    },
  };
}

/** The private form of `/jules-key set`: one short input, bounded as {@link julesKeyProblem} bounds a key. */
function keyForm(): APIInteractionResponse {
  return {
    type: InteractionResponseType.Modal,
    data: {
      custom_id: KEY_MODAL_ID,
      title: 'Your personal Jules API key',
      components: [
        {
          type: ComponentType.Label,
          label: 'Jules API key',
          description: 'From jules.google.com/settings#api. Stored encrypted; never shown back.',
          component: {
            type: ComponentType.TextInput,
            custom_id: MODAL_TEXT_FIELD,
            style: TextInputStyle.Short,
            required: true,
            min_length: JULES_KEY_LENGTH.min,
            max_length: JULES_KEY_LENGTH.max,
          },
        },
      ],
    },
  };
}
