/**
 * A local Discord REST v10 for tests and `demo`: a real HTTP server on 127.0.0.1 that the real
 * `@discordjs/rest` client talks to through `new REST({ api: emulator.apiUrl })`. It keeps the state a
 * user would see (channel messages, interaction responses, follow-ups, threads, commands), answers with
 * Discord's status codes, error codes and rate-limit headers, and records every request so tests can
 * assert on the wire.
 * @see https://discord.com/developers/docs/reference#http-api
 * @see https://discord.com/developers/docs/topics/rate-limits
 */
import { emulatedBotUser } from './discord-objects';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApplicationCommandType,
  ChannelType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
  type APIApplicationCommand,
  type APIEmbed,
  type APIMessage,
  type APIMessageTopLevelComponent,
  type APIThreadChannel,
  type APIUser,
  type RESTGetAPIGatewayBotResult,
  type RESTPostAPIInteractionCallbackWithResponseResult,
  type ThreadAutoArchiveDuration,
} from '@discordjs/core/http-only';
import { newSnowflake, readInteractionTokenHints } from './interaction-signer';

/** Options for {@link startDiscordEmulator}. */
export interface DiscordEmulatorOptions {
  /** The bot token bot routes require as `Authorization: Bot <token>`; a random one when omitted. */
  token?: string;
  /** The application (and bot user) id; a new snowflake when omitted. */
  applicationId?: string;
  /** Per-bucket limit reported in `X-RateLimit-*` and enforced with 429s; default 50 requests per 1 s window. */
  routeLimit?: { requests: number; windowSeconds: number };
  /** The `url` `GET /gateway/bot` returns (must have no query); defaults to this server's ws:// address. */
  gatewayUrl?: string;
}

/** One request as the emulator received it. */
export interface RecordedRequest {
  method: string;
  /** Decoded path below `/api/v10` (e.g. `/webhooks/1/tok/messages/@original`), without the query. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (or multipart `payload_json`), the raw text when not JSON, undefined when empty. */
  body: unknown;
  /** Names and sizes of multipart files, when any were attached. */
  files?: { name: string; size: number }[];
  /** The response status; 0 until the response is sent. */
  status: number;
  at: number;
  /** The Authorization scheme sent (`Bot`, `Bearer`…), undefined without the header; the token itself is never kept. */
  auth?: string;
}

/** A message as it now stands, with what the emulator knows about how it got there. */
export type EmulatedMessage = APIMessage & {
  /** How many PATCHes it received (a deferred reply's first edit counts). */
  editCount: number;
  ephemeral: boolean;
  /** Which door it came through: a bot channel route, an interaction callback, or an interaction webhook. */
  source: 'channel' | 'interaction' | 'follow-up';
};

/** One entry of the message transcript: the fields the request set, in arrival order. */
export interface MessageHistoryEntry {
  kind: 'create' | 'edit' | 'delete';
  channelId: string;
  messageId: string;
  content?: string;
  components?: unknown[];
  embeds?: unknown[];
  flags?: number;
  at: number;
}

/** An interaction callback (`POST /interactions/:id/:token/callback`) that was accepted. */
export interface RecordedCallback {
  interactionId: string;
  token: string;
  type: number;
  data?: unknown;
  at: number;
}

/** A follow-up message (`POST /webhooks/:app/:token`) that was accepted. */
export interface RecordedFollowUp {
  applicationId: string;
  token: string;
  messageId: string;
  channelId: string;
  content?: string;
  components?: unknown[];
  embeds?: unknown[];
  flags?: number;
  /** True when Discord's legacy rule applied: the first follow-up after a type-5 defer edits the loading message. */
  editedDeferredOriginal: boolean;
  at: number;
}

/** Which requests an injected failure applies to; every given field must match. */
export interface RequestMatch {
  method?: string;
  /** Tested against {@link RecordedRequest.path}. */
  path?: RegExp;
}

/** What the emulator needs to know about an interaction to place its responses like Discord would. */
export interface InteractionRegistration {
  id: string;
  token: string;
  type?: number;
  channel_id?: string;
  guild_id?: string;
  /** The message a component was on; type 6/7 callbacks act on it. */
  message?: { id: string };
  member?: { user: APIUser };
  user?: APIUser;
}

/** A running emulator. */
export interface DiscordEmulator {
  /** `http://127.0.0.1:PORT/api`, the `DISCORD_API_URL` value (the client adds `/v10`). */
  readonly apiUrl: string;
  readonly token: string;
  readonly applicationId: string;
  /** The underlying server, e.g. for a gateway emulator to share the port through its `upgrade` event. */
  readonly server: Server;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  readonly callbacks: RecordedCallback[];
  readonly followUps: RecordedFollowUp[];
  /**
   * Tells the emulator an interaction's channel and message, so its responses land in `channelMessages(channelId)`
   * and type 6/7 callbacks act on the right message. Interactions made by the sandbox builders need no
   * registration (their tokens carry these hints); responses to other unknown interactions go to channel `'0'`.
   */
  registerInteraction(interaction: InteractionRegistration): void;
  /**
   * Takes an HTTP endpoint's answer to an interaction as Discord does when the endpoint replies to the POST: as
   * that interaction's callback, so a deferral's webhook exists afterwards. Returns Discord's status and error
   * (e.g. 40060 when the interaction was answered already).
   */
  answerInline(interaction: { id: string; token: string }, response: unknown): { status: number; body?: unknown };
  /** The message an interaction's answer created or acts on (its `@original`), as it now stands. */
  originalResponse(interactionId: string): EmulatedMessage | undefined;
  /** Current, non-deleted messages of a channel in creation order (edits applied), ephemeral ones included. */
  channelMessages(channelId: string): EmulatedMessage[];
  /** One message by id, deleted or not; undefined when never created. */
  message(messageId: string): EmulatedMessage | undefined;
  /** The transcript of creates, edits and deletes, optionally for one channel. */
  messageHistory(channelId?: string): MessageHistoryEntry[];
  /** Every string in every request body ever received (content, embeds, components, modals, thread names…), for leak scans. */
  allMessagesText(): string;
  /** Threads created from messages, in creation order. */
  threads(): APIThreadChannel[];
  /** The DM channel opened with a user, if the bot opened one. */
  dmChannelOf(userId: string): string | undefined;
  /** The commands last bulk-overwritten, globally or for one guild. */
  registeredCommands(guildId?: string): APIApplicationCommand[];
  /** Makes the next matching requests fail with 429, as a per-route (default) or global rate limit. */
  rateLimitNext(opts: { times?: number; retryAfterSeconds?: number; match?: RequestMatch; global?: boolean }): void;
  /**
   * Makes the next matching requests fail with a Discord error, e.g. 404/10062, 400/40060, 401/50027; with
   * `forMs`, every matching request for that long (an outage: 500/502/503 with code 0), however many come.
   */
  failNext(opts: { status: number; code: number; message: string; times?: number; forMs?: number; match?: RequestMatch }): void;
  /** Points `GET /gateway/bot` at another URL (a gateway emulator). */
  setGatewayUrl(url: string): void;
  /** Stops the server and drops keep-alive connections; calling it again does nothing. */
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

interface StoredMessage {
  message: APIMessage;
  editCount: number;
  ephemeral: boolean;
  deleted: boolean;
  source: EmulatedMessage['source'];
}

interface InteractionState {
  id: string;
  token: string;
  type?: number;
  channelId?: string;
  guildId?: string;
  componentMessageId?: string;
  user?: APIUser;
  acknowledged: boolean;
  originalMessageId?: string;
  messageIds: Set<string>;
}

interface InjectedRule {
  remaining: number;
  match?: RequestMatch;
  /** Epoch ms after which the rule no longer applies (an outage of a given length). */
  until?: number;
}

interface InjectedRateLimit extends InjectedRule {
  retryAfterSeconds: number;
  global: boolean;
}

interface InjectedFailure extends InjectedRule {
  status: number;
  code: number;
  message: string;
}

interface RequestContext {
  record: RecordedRequest;
  params: Record<string, string>;
  body: unknown;
}

interface Reply {
  status: number;
  body?: unknown;
}

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  template: string;
  /** Bot routes need the bot token; interaction callbacks and webhooks carry their token in the path. */
  auth: 'bot' | 'none';
  /** The path parameter(s) that scope the rate limit, as Discord's "major parameters" do. */
  major: (params: Record<string, string>) => string;
  handle: (ctx: RequestContext) => Reply;
}

/** The channel used for interaction responses when the emulator was not told the interaction's channel. */
const UNKNOWN_CHANNEL_ID = '0';
const API_PREFIX = '/api/v10';
const LOADING_FLAG = 1 << 7;

/** A Discord JSON error response. */
function fail(status: number, code: number, message: string, errors?: Json): Reply {
  return { status, body: errors ? { code, message, errors } : { message, code } };
}

const notFound = (): Reply => fail(404, 0, '404: Not Found');
const unknownMessage = (): Reply => fail(404, 10008, 'Unknown Message');
const unknownWebhook = (): Reply => fail(404, 10015, 'Unknown Webhook');

/** 400 Invalid Form Body with Discord's nested `errors` shape for one field. */
function invalidForm(field: string, code: string, message: string): Reply {
  const errors: Json = {};
  let cursor = errors;
  const parts = field.split('.');
  parts.forEach((part, i) => {
    const next: Json = i === parts.length - 1 ? { _errors: [{ code, message }] } : {};
    cursor[part] = next;
    cursor = next;
  });
  return fail(400, 50035, 'Invalid Form Body', errors);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (isObject(value)) for (const item of Object.values(value)) collectStrings(item, into);
}

function validateComponents(components: unknown, v2: boolean): Reply | undefined {
  if (components === undefined || components === null) return undefined;
  if (!Array.isArray(components)) return invalidForm('components', 'MODEL_TYPE_CONVERT', 'Only iterables may be used in a ListType');
  if (!v2 && components.length > 5) return invalidForm('components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 5 in length.');
  const stack: { node: unknown; path: string }[] = components.map((node, i) => ({ node, path: `components.${i}` }));
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (!isObject(node) || typeof node.type !== 'number') return invalidForm(`${path}.type`, 'BASE_TYPE_REQUIRED', 'This field is required');
    const customId = node.custom_id;
    if (customId !== undefined && (typeof customId !== 'string' || customId.length < 1 || customId.length > 100)) {
      return invalidForm(`${path}.custom_id`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    // A non-link, non-premium button sends an interaction, so Discord insists on its custom_id.
    if (node.type === 2 && node.style !== 5 && node.style !== 6 && customId === undefined) {
      return invalidForm(`${path}.custom_id`, 'BASE_TYPE_REQUIRED', 'This field is required');
    }
    if (typeof node.label === 'string' && node.type === 2 && node.label.length > 80) {
      return invalidForm(`${path}.label`, 'BASE_TYPE_MAX_LENGTH', 'Must be 80 or fewer in length.');
    }
    if (node.type === 1 && (!Array.isArray(node.components) || node.components.length < 1 || node.components.length > 5)) {
      return invalidForm(`${path}.components`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
    }
    if (Array.isArray(node.components)) node.components.forEach((child, i) => stack.push({ node: child, path: `${path}.components.${i}` }));
    if (node.component !== undefined) stack.push({ node: node.component, path: `${path}.component` });
    if (node.accessory !== undefined) stack.push({ node: node.accessory, path: `${path}.accessory` });
  }
  return undefined;
}

function validateEmbeds(embeds: unknown): Reply | undefined {
  if (embeds === undefined || embeds === null) return undefined;
  if (!Array.isArray(embeds)) return invalidForm('embeds', 'MODEL_TYPE_CONVERT', 'Only iterables may be used in a ListType');
  if (embeds.length > 10) return invalidForm('embeds', 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 10 in length.');
  for (const [i, embed] of embeds.entries()) {
    if (!isObject(embed)) return invalidForm(`embeds.${i}`, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    if (typeof embed.title === 'string' && embed.title.length > 256) return invalidForm(`embeds.${i}.title`, 'BASE_TYPE_MAX_LENGTH', 'Must be 256 or fewer in length.');
    if (typeof embed.description === 'string' && embed.description.length > 4096) {
      return invalidForm(`embeds.${i}.description`, 'BASE_TYPE_MAX_LENGTH', 'Must be 4096 or fewer in length.');
    }
    if (Array.isArray(embed.fields) && embed.fields.length > 25) return invalidForm(`embeds.${i}.fields`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 25 in length.');
  }
  const total = embeds.reduce<number>((sum, embed) => {
    const texts: string[] = [];
    collectStrings(isObject(embed) ? { t: embed.title, d: embed.description, f: embed.fields, a: embed.author, o: embed.footer } : {}, texts);
    return sum + texts.reduce((n, s) => n + s.length, 0);
  }, 0);
  if (total > 6000) return invalidForm('embeds', 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  return undefined;
}

/** Checks a message body as Discord would; `creating` adds the "cannot send an empty message" rule. */
function validateMessageBody(body: unknown, creating: boolean, hasFiles: boolean): Reply | undefined {
  if (!isObject(body)) return fail(400, 50109, 'The request body contains invalid JSON.');
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  const v2 = (flags & MessageFlags.IsComponentsV2) !== 0;
  if (body.content !== undefined && body.content !== null && typeof body.content !== 'string') {
    return invalidForm('content', 'BASE_TYPE_STRING', 'This field must be a string.');
  }
  if (typeof body.content === 'string' && body.content.length > 2000) {
    return invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  if (v2 && ((typeof body.content === 'string' && body.content.length > 0) || (Array.isArray(body.embeds) && body.embeds.length > 0))) {
    return invalidForm('content', 'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2', "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2");
  }
  const invalid = validateComponents(body.components, v2) ?? validateEmbeds(body.embeds);
  if (invalid) return invalid;
  if (creating) {
    const hasContent = typeof body.content === 'string' && body.content.length > 0;
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
    const hasComponents = Array.isArray(body.components) && body.components.length > 0;
    const hasStickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
    if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && !hasFiles && body.poll === undefined) {
      return fail(400, 50006, 'Cannot send an empty message');
    }
  }
  return undefined;
}

/** Splits a path into decoded segments; encoded slashes inside a segment (tokens) stay inside it. */
function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').slice(1).map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

function matchTemplate(template: string, segments: string[]): Record<string, string> | undefined {
  const parts = template.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i]!;
    if (part.startsWith(':')) {
      if (segment.length === 0) return undefined;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function matches(rule: InjectedRule, record: RecordedRequest): boolean {
  if (rule.remaining <= 0) return false;
  if (rule.until !== undefined && Date.now() >= rule.until) return false;
  if (rule.match?.method && rule.match.method.toUpperCase() !== record.method) return false;
  if (rule.match?.path && !rule.match.path.test(record.path)) return false;
  return true;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses JSON bodies, and the `payload_json` + files of multipart ones (how the client sends attachments). */
async function parseBody(raw: Buffer, contentType: string | undefined): Promise<{ body: unknown; files?: { name: string; size: number; text: string }[] }> {
  if (raw.length === 0) return { body: undefined };
  if (contentType?.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
    const files: { name: string; size: number; text: string }[] = [];
    let body: unknown;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value);
      } else {
        files.push({ name: value.name, size: value.size, text: await value.text() });
      }
    }
    return { body, files };
  }
  const text = raw.toString('utf8');
  if (contentType?.startsWith('application/json')) return { body: JSON.parse(text) as unknown };
  return { body: text };
}

/**
 * Starts the emulator on a random loopback port.
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction
 */
export async function startDiscordEmulator(opts: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const token = opts.token ?? `emulator.${newSnowflake()}.${createHash('sha256').update(newSnowflake()).digest('base64url').slice(0, 27)}`;
  const applicationId = opts.applicationId ?? newSnowflake();
  const routeLimit = opts.routeLimit ?? { requests: 50, windowSeconds: 1 };
  const botUser: APIUser = emulatedBotUser(applicationId);

  const requests: RecordedRequest[] = [];
  const callbacks: RecordedCallback[] = [];
  const followUps: RecordedFollowUp[] = [];
  const history: MessageHistoryEntry[] = [];
  const texts: string[] = [];
  const messages = new Map<string, StoredMessage>();
  const channelOrder = new Map<string, string[]>();
  const channelGuilds = new Map<string, string>();
  const threadChannels: APIThreadChannel[] = [];
  const interactionsById = new Map<string, InteractionState>();
  const interactionsByToken = new Map<string, InteractionState>();
  const globalCommands: APIApplicationCommand[] = [];
  const guildCommands = new Map<string, APIApplicationCommand[]>();
  // Discord keeps a command's id across overwrites when its name and type stay the same.
  const commandIds = new Map<string, string>();
  const buckets = new Map<string, { windowStart: number; count: number }>();
  const injectedRateLimits: InjectedRateLimit[] = [];
  const nonces = new Map<string, StoredMessage>();
  const dmChannels = new Map<string, string>();
  const injectedFailures: InjectedFailure[] = [];
  let gatewayUrl = opts.gatewayUrl;

  const view = (stored: StoredMessage): EmulatedMessage =>
    ({ ...structuredClone(stored.message), editCount: stored.editCount, ephemeral: stored.ephemeral, source: stored.source });

  function pickMessageFields(body: Json): Pick<MessageHistoryEntry, 'content' | 'components' | 'embeds' | 'flags'> {
    return {
      ...(typeof body.content === 'string' ? { content: body.content } : {}),
      ...(Array.isArray(body.components) ? { components: structuredClone(body.components) } : {}),
      ...(Array.isArray(body.embeds) ? { embeds: structuredClone(body.embeds) } : {}),
      ...(typeof body.flags === 'number' ? { flags: body.flags } : {}),
    };
  }

  function createMessage(channelId: string, body: Json, source: EmulatedMessage['source'], extra: Partial<APIMessage> = {}): StoredMessage {
    const id = newSnowflake();
    const flags = typeof body.flags === 'number' ? body.flags : 0;
    const message: APIMessage = {
      id,
      channel_id: channelId,
      author: botUser,
      content: typeof body.content === 'string' ? body.content : '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: body.tts === true,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: Array.isArray(body.embeds) ? (structuredClone(body.embeds) as APIEmbed[]) : [],
      components: Array.isArray(body.components) ? (structuredClone(body.components) as APIMessageTopLevelComponent[]) : [],
      pinned: false,
      type: MessageType.Default,
      flags,
      ...extra,
    };
    if (isObject(body.message_reference) && typeof body.message_reference.message_id === 'string') {
      message.type = MessageType.Reply;
      message.message_reference = { type: 0, message_id: body.message_reference.message_id, channel_id: channelId };
    }
    const stored: StoredMessage = { message, editCount: 0, ephemeral: (flags & MessageFlags.Ephemeral) !== 0, deleted: false, source };
    messages.set(id, stored);
    const order = channelOrder.get(channelId) ?? [];
    order.push(id);
    channelOrder.set(channelId, order);
    history.push({ kind: 'create', channelId, messageId: id, ...pickMessageFields({ ...body, flags }), at: Date.now() });
    return stored;
  }

  function editMessage(stored: StoredMessage, body: Json): void {
    const { message } = stored;
    if (body.content !== undefined) message.content = typeof body.content === 'string' ? body.content : '';
    if (body.embeds !== undefined) message.embeds = Array.isArray(body.embeds) ? (structuredClone(body.embeds) as APIEmbed[]) : [];
    if (body.components !== undefined) {
      message.components = Array.isArray(body.components) ? (structuredClone(body.components) as APIMessageTopLevelComponent[]) : [];
    }
    // An edit can only add IS_COMPONENTS_V2 or toggle SUPPRESS_EMBEDS; the first edit ends a deferred reply's loading state.
    let flags = (message.flags ?? 0) & ~LOADING_FLAG;
    if (typeof body.flags === 'number') {
      flags = (flags & ~MessageFlags.SuppressEmbeds) | (body.flags & (MessageFlags.SuppressEmbeds | MessageFlags.IsComponentsV2));
    }
    message.flags = flags;
    message.edited_timestamp = new Date().toISOString();
    stored.editCount += 1;
    history.push({ kind: 'edit', channelId: message.channel_id, messageId: message.id, ...pickMessageFields(body), at: Date.now() });
  }

  function deleteMessage(stored: StoredMessage): void {
    stored.deleted = true;
    history.push({ kind: 'delete', channelId: stored.message.channel_id, messageId: stored.message.id, at: Date.now() });
  }

  function interactionState(id: string, tokenValue: string): InteractionState {
    const existing = interactionsById.get(id);
    if (existing) return existing;
    const state: InteractionState = { id, token: tokenValue, acknowledged: false, messageIds: new Set() };
    // Interactions built by the sandbox builders say where they happened; real tokens just carry no hints.
    const hints = readInteractionTokenHints(tokenValue);
    if (hints) {
      state.type = hints.type;
      if (hints.channelId) state.channelId = hints.channelId;
      if (hints.guildId) state.guildId = hints.guildId;
      if (hints.messageId) state.componentMessageId = hints.messageId;
      if (hints.userId) {
        const username = hints.username ?? hints.userId;
        state.user = { id: hints.userId, username, discriminator: '0', global_name: username, avatar: null };
      }
      if (hints.channelId && hints.guildId && !channelGuilds.has(hints.channelId)) channelGuilds.set(hints.channelId, hints.guildId);
    }
    interactionsById.set(id, state);
    interactionsByToken.set(tokenValue, state);
    return state;
  }

  function interactionMetadata(state: InteractionState): Partial<APIMessage> {
    if (!state.user || state.type === undefined) return {};
    const metadata = {
      id: state.id,
      type: state.type,
      user: state.user,
      authorizing_integration_owners: state.guildId ? { 0: state.guildId } : {},
    };
    return { interaction_metadata: metadata as APIMessage['interaction_metadata'] };
  }

  function liveMessageInChannel(channelId: string, messageId: string): StoredMessage | undefined {
    const stored = messages.get(messageId);
    // Ephemeral messages exist only for their interaction's webhook; bot routes cannot see them.
    if (!stored || stored.deleted || stored.ephemeral || stored.message.channel_id !== channelId) return undefined;
    return stored;
  }

  function webhookMessage(state: InteractionState, messageId: string): StoredMessage | undefined {
    const id = messageId === '@original' ? state.originalMessageId : messageId;
    if (id === undefined || !state.messageIds.has(id)) return undefined;
    const stored = messages.get(id);
    return stored && !stored.deleted ? stored : undefined;
  }

  function webhookState(ctx: RequestContext): InteractionState | Reply {
    if (ctx.params.app !== applicationId) return unknownWebhook();
    const state = interactionsByToken.get(ctx.params.token!);
    // An interaction's webhook exists only once the interaction was acknowledged.
    if (!state || !state.acknowledged) return unknownWebhook();
    return state;
  }

  function interactionCallback(ctx: RequestContext): Reply {
    const { interaction: interactionId, token: tokenValue } = ctx.params as { interaction: string; token: string };
    const known = interactionsById.get(interactionId);
    if (known && known.token !== tokenValue) return fail(404, 10062, 'Unknown interaction');
    if (!isObject(ctx.body)) return fail(400, 50109, 'The request body contains invalid JSON.');
    const type = ctx.body.type;
    const allowed = [1, 4, 5, 6, 7, 8, 9];
    if (typeof type !== 'number' || !allowed.includes(type)) {
      return invalidForm('type', 'BASE_TYPE_CHOICES', `Value must be one of {${allowed.join(', ')}}.`);
    }
    const state = interactionState(interactionId, tokenValue);
    if (state.acknowledged) return fail(400, 40060, 'Interaction has already been acknowledged.');
    const data = isObject(ctx.body.data) ? ctx.body.data : {};
    const channelId = state.channelId ?? UNKNOWN_CHANNEL_ID;
    let message: StoredMessage | undefined;

    if (type === InteractionResponseType.ChannelMessageWithSource) {
      const invalid = validateMessageBody(data, true, (ctx.record.files?.length ?? 0) > 0);
      if (invalid) return invalid;
      message = createMessage(channelId, data, 'interaction', {
        webhook_id: applicationId,
        application_id: applicationId,
        type: state.type === InteractionType.ApplicationCommand ? MessageType.ChatInputCommand : MessageType.Default,
        ...interactionMetadata(state),
      });
    } else if (type === InteractionResponseType.DeferredChannelMessageWithSource) {
      // Only EPHEMERAL may be set on a defer; the message shows "thinking…" until @original is edited.
      const flags = LOADING_FLAG | ((typeof data.flags === 'number' ? data.flags : 0) & MessageFlags.Ephemeral);
      message = createMessage(channelId, { content: '', flags }, 'interaction', {
        webhook_id: applicationId,
        application_id: applicationId,
        type: state.type === InteractionType.ApplicationCommand ? MessageType.ChatInputCommand : MessageType.Default,
        ...interactionMetadata(state),
      });
    } else if (type === InteractionResponseType.UpdateMessage || type === InteractionResponseType.DeferredMessageUpdate) {
      message = state.componentMessageId ? messages.get(state.componentMessageId) : undefined;
      if (type === InteractionResponseType.UpdateMessage) {
        const invalid = validateMessageBody(data, false, false);
        if (invalid) return invalid;
        if (message && !message.deleted) editMessage(message, data);
      }
    } else if (type === InteractionResponseType.Modal) {
      const customId = data.custom_id;
      if (typeof customId !== 'string' || customId.length < 1 || customId.length > 100) {
        return invalidForm('data.custom_id', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      }
      if (typeof data.title !== 'string' || data.title.length < 1 || data.title.length > 45) {
        return invalidForm('data.title', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 45 in length.');
      }
      if (!Array.isArray(data.components) || data.components.length < 1 || data.components.length > 5) {
        return invalidForm('data.components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      }
    }

    state.acknowledged = true;
    if (message) {
      state.originalMessageId = message.message.id;
      state.messageIds.add(message.message.id);
    }
    callbacks.push({ interactionId, token: tokenValue, type, ...(ctx.body.data !== undefined ? { data: structuredClone(ctx.body.data) } : {}), at: Date.now() });
    if (ctx.record.query.with_response !== 'true') return { status: 204 };

    const result: RESTPostAPIInteractionCallbackWithResponseResult = {
      interaction: {
        id: interactionId,
        type: state.type ?? (type === 6 || type === 7 ? InteractionType.MessageComponent : type === 1 ? InteractionType.Ping : InteractionType.ApplicationCommand),
        ...(message
          ? {
              response_message_id: message.message.id,
              response_message_loading: ((message.message.flags ?? 0) & LOADING_FLAG) !== 0,
              response_message_ephemeral: message.ephemeral,
            }
          : {}),
      },
      ...(message && (type === 4 || type === 7) ? { resource: { type, message: view(message) } } : {}),
    };
    return { status: 200, body: result };
  }

  function createFollowUp(ctx: RequestContext): Reply {
    const state = webhookState(ctx);
    if (!('acknowledged' in state)) return state;
    const invalid = validateMessageBody(ctx.body, true, (ctx.record.files?.length ?? 0) > 0);
    if (invalid) return invalid;
    const body = ctx.body as Json;
    const original = state.originalMessageId ? messages.get(state.originalMessageId) : undefined;
    let stored: StoredMessage;
    let editedDeferredOriginal = false;
    if (original && !original.deleted && ((original.message.flags ?? 0) & LOADING_FLAG) !== 0) {
      // Legacy rule Discord still applies: the first follow-up after a type-5 defer fills in the loading message.
      editMessage(original, { content: body.content, embeds: body.embeds, components: body.components });
      stored = original;
      editedDeferredOriginal = true;
    } else {
      stored = createMessage(state.channelId ?? UNKNOWN_CHANNEL_ID, body, 'follow-up', {
        webhook_id: applicationId,
        application_id: applicationId,
        ...interactionMetadata(state),
      });
      state.messageIds.add(stored.message.id);
    }
    followUps.push({
      applicationId,
      token: state.token,
      messageId: stored.message.id,
      channelId: stored.message.channel_id,
      ...pickMessageFields(body),
      editedDeferredOriginal,
      at: Date.now(),
    });
    return { status: 200, body: view(stored) };
  }

  function webhookMessageRoute(kind: 'get' | 'edit' | 'delete') {
    return (ctx: RequestContext): Reply => {
      const state = webhookState(ctx);
      if (!('acknowledged' in state)) return state;
      const stored = webhookMessage(state, ctx.params.message!);
      if (!stored) return unknownMessage();
      if (kind === 'get') return { status: 200, body: view(stored) };
      if (kind === 'delete') {
        deleteMessage(stored);
        return { status: 204 };
      }
      const invalid = validateMessageBody(ctx.body, false, false);
      if (invalid) return invalid;
      editMessage(stored, ctx.body as Json);
      return { status: 200, body: view(stored) };
    };
  }

  function bulkOverwrite(ctx: RequestContext): Reply {
    if (ctx.params.app !== applicationId) return fail(403, 50001, 'Missing Access');
    if (!Array.isArray(ctx.body)) return fail(400, 50109, 'The request body contains invalid JSON.');
    if (ctx.body.length > 200) return invalidForm('_root', 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 200 in length.');
    const guildId = ctx.params.guild;
    const seen = new Set<string>();
    const result: APIApplicationCommand[] = [];
    for (const [i, command] of ctx.body.entries()) {
      if (!isObject(command)) return invalidForm(`${i}`, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      const type = typeof command.type === 'number' ? command.type : ApplicationCommandType.ChatInput;
      const name = command.name;
      if (typeof name !== 'string' || !/^[-_'\p{L}\p{N}]{1,32}$/u.test(name) || (type === ApplicationCommandType.ChatInput && name !== name.toLowerCase())) {
        return invalidForm(`${i}.name`, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
      }
      const description = typeof command.description === 'string' ? command.description : '';
      if (type === ApplicationCommandType.ChatInput && (description.length < 1 || description.length > 100)) {
        return invalidForm(`${i}.description`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      }
      const key = `${guildId ?? 'global'}:${type}:${name}`;
      if (seen.has(key)) return invalidForm(`${i}.name`, 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
      seen.add(key);
      const id = commandIds.get(key) ?? newSnowflake();
      commandIds.set(key, id);
      result.push({
        ...(structuredClone(command) as Partial<APIApplicationCommand>),
        id,
        application_id: applicationId,
        version: newSnowflake(),
        type,
        name,
        description,
        default_member_permissions: typeof command.default_member_permissions === 'string' ? command.default_member_permissions : null,
        nsfw: command.nsfw === true,
        ...(guildId ? { guild_id: guildId } : {}),
      } as APIApplicationCommand);
    }
    if (guildId) guildCommands.set(guildId, result);
    else globalCommands.splice(0, globalCommands.length, ...result);
    return { status: 200, body: result };
  }

  function startThread(ctx: RequestContext): Reply {
    const { channel: channelId, message: messageId } = ctx.params as { channel: string; message: string };
    const stored = liveMessageInChannel(channelId, messageId);
    if (!stored) return unknownMessage();
    if (!isObject(ctx.body)) return fail(400, 50109, 'The request body contains invalid JSON.');
    const { name, auto_archive_duration: archive } = ctx.body;
    if (typeof name !== 'string' || name.length < 1 || name.length > 100) return invalidForm('name', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    if (archive !== undefined && ![60, 1440, 4320, 10080].includes(archive as number)) {
      return invalidForm('auto_archive_duration', 'BASE_TYPE_CHOICES', 'Value must be one of {60, 1440, 4320, 10080}.');
    }
    if (stored.message.thread) return fail(400, 160004, 'A thread has already been created for this message');
    const now = new Date().toISOString();
    const guildId = channelGuilds.get(channelId);
    const thread = {
      id: messageId,
      type: ChannelType.PublicThread,
      ...(guildId ? { guild_id: guildId } : {}),
      parent_id: channelId,
      name,
      owner_id: applicationId,
      last_message_id: null,
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      rate_limit_per_user: typeof ctx.body.rate_limit_per_user === 'number' ? ctx.body.rate_limit_per_user : 0,
      flags: 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: ((archive as number | undefined) ?? 4320) as ThreadAutoArchiveDuration,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
      },
    } as unknown as APIThreadChannel;
    threadChannels.push(thread);
    if (guildId) channelGuilds.set(messageId, guildId);
    stored.message.thread = thread;
    return { status: 201, body: thread };
  }

  const routes: Route[] = [
    {
      method: 'POST', template: '/channels/:channel/messages', auth: 'bot', major: (p) => p.channel!,
      handle: (ctx) => {
        const invalid = validateMessageBody(ctx.body, true, (ctx.record.files?.length ?? 0) > 0);
        if (invalid) return invalid;
        // Bot channel routes cannot send ephemeral messages; Discord ignores the flag there.
        const body = { ...(ctx.body as Json) };
        if (typeof body.flags === 'number') body.flags &= ~MessageFlags.Ephemeral;
        // With enforce_nonce, Discord answers a repeated nonce (same author, a few minutes) with the first message.
        const nonce = body.enforce_nonce === true && (typeof body.nonce === 'string' || typeof body.nonce === 'number') ? `${ctx.params.channel}:${String(body.nonce)}` : undefined;
        const earlier = nonce ? nonces.get(nonce) : undefined;
        if (earlier) return { status: 200, body: view(earlier) };
        const created = createMessage(ctx.params.channel!, body, 'channel');
        if (nonce) nonces.set(nonce, created);
        return { status: 200, body: view(created) };
      },
    },
    {
      method: 'GET', template: '/channels/:channel/messages/:message', auth: 'bot', major: (p) => p.channel!,
      handle: (ctx) => {
        const stored = liveMessageInChannel(ctx.params.channel!, ctx.params.message!);
        return stored ? { status: 200, body: view(stored) } : unknownMessage();
      },
    },
    {
      method: 'PATCH', template: '/channels/:channel/messages/:message', auth: 'bot', major: (p) => p.channel!,
      handle: (ctx) => {
        const stored = liveMessageInChannel(ctx.params.channel!, ctx.params.message!);
        if (!stored) return unknownMessage();
        const invalid = validateMessageBody(ctx.body, false, false);
        if (invalid) return invalid;
        editMessage(stored, ctx.body as Json);
        return { status: 200, body: view(stored) };
      },
    },
    {
      method: 'DELETE', template: '/channels/:channel/messages/:message', auth: 'bot', major: (p) => p.channel!,
      handle: (ctx) => {
        const stored = liveMessageInChannel(ctx.params.channel!, ctx.params.message!);
        if (!stored) return unknownMessage();
        deleteMessage(stored);
        return { status: 204 };
      },
    },
    { method: 'POST', template: '/channels/:channel/messages/:message/threads', auth: 'bot', major: (p) => p.channel!, handle: startThread },
    {
      method: 'POST', template: '/interactions/:interaction/:token/callback', auth: 'none',
      major: (p) => `${p.interaction}/${p.token}`, handle: interactionCallback,
    },
    { method: 'POST', template: '/webhooks/:app/:token', auth: 'none', major: (p) => `${p.app}/${p.token}`, handle: createFollowUp },
    { method: 'GET', template: '/webhooks/:app/:token/messages/:message', auth: 'none', major: (p) => `${p.app}/${p.token}`, handle: webhookMessageRoute('get') },
    { method: 'PATCH', template: '/webhooks/:app/:token/messages/:message', auth: 'none', major: (p) => `${p.app}/${p.token}`, handle: webhookMessageRoute('edit') },
    { method: 'DELETE', template: '/webhooks/:app/:token/messages/:message', auth: 'none', major: (p) => `${p.app}/${p.token}`, handle: webhookMessageRoute('delete') },
    { method: 'PUT', template: '/applications/:app/commands', auth: 'bot', major: (p) => p.app!, handle: bulkOverwrite },
    {
      method: 'GET', template: '/applications/:app/commands', auth: 'bot', major: (p) => p.app!,
      handle: (ctx) => (ctx.params.app === applicationId ? { status: 200, body: structuredClone(globalCommands) } : fail(403, 50001, 'Missing Access')),
    },
    { method: 'PUT', template: '/applications/:app/guilds/:guild/commands', auth: 'bot', major: (p) => p.guild!, handle: bulkOverwrite },
    {
      method: 'GET', template: '/applications/:app/guilds/:guild/commands', auth: 'bot', major: (p) => p.guild!,
      handle: (ctx) =>
        ctx.params.app === applicationId
          ? { status: 200, body: structuredClone(guildCommands.get(ctx.params.guild!) ?? []) }
          : fail(403, 50001, 'Missing Access'),
    },
    {
      method: 'GET', template: '/gateway/bot', auth: 'bot', major: () => '',
      handle: () => {
        const body: RESTGetAPIGatewayBotResult = {
          url: gatewayUrl ?? `ws://127.0.0.1:${port}`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 },
        };
        return { status: 200, body };
      },
    },
    { method: 'GET', template: '/users/@me', auth: 'bot', major: () => '', handle: () => ({ status: 200, body: botUser }) },
    {
      // Create DM: one DM channel per recipient, as on Discord; messages then go to it like any channel.
      method: 'POST', template: '/users/@me/channels', auth: 'bot', major: () => '',
      handle: (ctx) => {
        const recipient = (ctx.body as { recipient_id?: unknown } | undefined)?.recipient_id;
        if (typeof recipient !== 'string' || !/^\d{15,25}$/.test(recipient)) {
          return { status: 400, body: { message: 'Invalid Form Body', code: 50035 } };
        }
        let channelId = dmChannels.get(recipient);
        if (!channelId) dmChannels.set(recipient, (channelId = newSnowflake()));
        return { status: 200, body: { id: channelId, type: 1, recipients: [{ id: recipient, username: `user-${recipient}`, discriminator: '0', global_name: null, avatar: null }] } };
      },
    },
  ];

  /** Bucket hashes are opaque to clients; a digest of the route template gives stable, realistic-looking ones. */
  const bucketHash = (route: Route) => createHash('md5').update(`${route.method} ${route.template}`).digest('hex');

  /** Counts a request against its bucket (unless `consume` is false) and returns the headers Discord would send. */
  function takeFromBucket(route: Route, params: Record<string, string>, consume: boolean): { headers: Record<string, string>; limited?: number } {
    const hash = bucketHash(route);
    const key = `${hash}:${route.major(params)}`;
    const now = Date.now();
    const windowMs = routeLimit.windowSeconds * 1000;
    let bucket = buckets.get(key);
    if (!bucket || now - bucket.windowStart >= windowMs) {
      bucket = { windowStart: now, count: 0 };
      buckets.set(key, bucket);
    }
    const resetAt = bucket.windowStart + windowMs;
    const limited = bucket.count >= routeLimit.requests;
    if (!limited && consume) bucket.count += 1;
    const headers = {
      'x-ratelimit-limit': String(routeLimit.requests),
      'x-ratelimit-remaining': String(Math.max(0, routeLimit.requests - bucket.count)),
      'x-ratelimit-reset': (resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': ((resetAt - now) / 1000).toFixed(3),
      'x-ratelimit-bucket': hash,
    };
    return limited ? { headers, limited: (resetAt - now) / 1000 } : { headers };
  }

  function rateLimited(retryAfterSeconds: number, global: boolean, bucketHeaders: Record<string, string>): { reply: Reply; headers: Record<string, string> } {
    // Discord rounds the Retry-After header up to whole seconds; the exact value is sent so tests stay fast.
    const headers: Record<string, string> = { 'retry-after': String(retryAfterSeconds), 'x-ratelimit-scope': global ? 'global' : 'user' };
    if (global) headers['x-ratelimit-global'] = 'true';
    else Object.assign(headers, bucketHeaders, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': retryAfterSeconds.toFixed(3) });
    return { reply: { status: 429, body: { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global } }, headers };
  }

  function send(res: ServerResponse, record: RecordedRequest | undefined, reply: Reply, headers: Record<string, string> = {}): void {
    if (record) record.status = reply.status;
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const segments = decodeSegments(url.pathname);
    const fullPath = segments ? `/${segments.join('/')}` : url.pathname;
    const path = fullPath.startsWith(`${API_PREFIX}/`) ? fullPath.slice(API_PREFIX.length) : fullPath;
    const authorization = req.headers.authorization;
    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      at: Date.now(),
      ...(authorization ? { auth: authorization.split(' ')[0] } : {}),
    };
    requests.push(record);

    let parsed: Awaited<ReturnType<typeof parseBody>>;
    try {
      parsed = await parseBody(raw, req.headers['content-type']);
    } catch {
      record.body = raw.toString('utf8');
      texts.push(record.body as string);
      return send(res, record, fail(400, 50109, 'The request body contains invalid JSON.'));
    }
    record.body = parsed.body;
    if (parsed.files) record.files = parsed.files.map(({ name, size }) => ({ name, size }));
    collectStrings(parsed.body, texts);
    for (const file of parsed.files ?? []) texts.push(file.name, file.text);

    if (!segments || !fullPath.startsWith(`${API_PREFIX}/`)) return send(res, record, notFound());
    const routeSegments = segments.slice(API_PREFIX.split('/').length - 1);
    let params: Record<string, string> | undefined;
    const route = routes.find((candidate) => candidate.method === method && (params = matchTemplate(candidate.template, routeSegments)) !== undefined);
    if (!route || !params) {
      const other = routes.some((candidate) => matchTemplate(candidate.template, routeSegments) !== undefined);
      return send(res, record, other ? fail(405, 0, '405: Method Not Allowed') : notFound());
    }
    if (route.auth === 'bot' && authorization !== `Bot ${token}`) return send(res, record, fail(401, 0, '401: Unauthorized'));

    // A rejected request does not use up the bucket, as on Discord.
    const injectedLimit = injectedRateLimits.find((rule) => matches(rule, record));
    const bucket = takeFromBucket(route, params, injectedLimit === undefined);
    if (injectedLimit) {
      injectedLimit.remaining -= 1;
      const limited = rateLimited(injectedLimit.retryAfterSeconds, injectedLimit.global, bucket.headers);
      return send(res, record, limited.reply, limited.headers);
    }
    if (bucket.limited !== undefined) {
      const limited = rateLimited(Number(bucket.limited.toFixed(3)), false, bucket.headers);
      return send(res, record, limited.reply, limited.headers);
    }
    const failure = injectedFailures.find((rule) => matches(rule, record));
    if (failure) {
      failure.remaining -= 1;
      return send(res, record, fail(failure.status, failure.code, failure.message), bucket.headers);
    }
    return send(res, record, route.handle({ record, params, body: parsed.body }), bucket.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // A bug in the emulator must surface as a 500 the client sees, not as a hung request.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: '500: Internal Server Error', code: 0 }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    token,
    applicationId,
    server,
    requests,
    callbacks,
    followUps,
    registerInteraction(interaction) {
      const state = interactionState(interaction.id, interaction.token);
      state.token = interaction.token;
      interactionsByToken.set(interaction.token, state);
      if (interaction.type !== undefined) state.type = interaction.type;
      if (interaction.channel_id) state.channelId = interaction.channel_id;
      if (interaction.guild_id) state.guildId = interaction.guild_id;
      if (interaction.message) state.componentMessageId = interaction.message.id;
      const user = interaction.member?.user ?? interaction.user;
      if (user) state.user = user;
      if (interaction.channel_id && interaction.guild_id) channelGuilds.set(interaction.channel_id, interaction.guild_id);
    },
    answerInline(interaction, response) {
      const record: RecordedRequest = { method: 'POST', path: `/interactions/${interaction.id}/${interaction.token}/callback`, query: {}, body: response, status: 0, at: Date.now() };
      return interactionCallback({ record, params: { interaction: interaction.id, token: interaction.token }, body: response });
    },
    originalResponse(interactionId) {
      const id = interactionsById.get(interactionId)?.originalMessageId;
      const stored = id === undefined ? undefined : messages.get(id);
      return stored ? view(stored) : undefined;
    },
    channelMessages(channelId) {
      return (channelOrder.get(channelId) ?? [])
        .map((id) => messages.get(id)!)
        .filter((stored) => !stored.deleted)
        .map(view);
    },
    message(messageId) {
      const stored = messages.get(messageId);
      return stored ? view(stored) : undefined;
    },
    messageHistory(channelId) {
      return structuredClone(channelId === undefined ? history : history.filter((entry) => entry.channelId === channelId));
    },
    allMessagesText() {
      return texts.join('\n');
    },
    threads() {
      return structuredClone(threadChannels);
    },
    dmChannelOf(userId) {
      return dmChannels.get(userId);
    },
    registeredCommands(guildId) {
      return structuredClone(guildId === undefined ? globalCommands : guildCommands.get(guildId) ?? []);
    },
    rateLimitNext({ times = 1, retryAfterSeconds = 0.25, match, global = false }) {
      injectedRateLimits.push({ remaining: times, retryAfterSeconds, global, ...(match ? { match } : {}) });
    },
    failNext({ status, code, message, times, forMs, match }) {
      const stretch = forMs === undefined ? {} : { until: Date.now() + forMs };
      injectedFailures.push({ remaining: times ?? (forMs === undefined ? 1 : Infinity), status, code, message, ...stretch, ...(match ? { match } : {}) });
    },
    setGatewayUrl(url) {
      gatewayUrl = url;
    },
    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
