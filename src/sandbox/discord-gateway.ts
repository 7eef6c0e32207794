/**
 * A local Discord gateway v10 (JSON, no compression) for tests and `demo`: a WebSocket server on 127.0.0.1
 * that the real `@discordjs/ws` client connects to, found through the REST emulator's `GET /gateway/bot`.
 * It speaks the handshake (HELLO, IDENTIFY → READY, HEARTBEAT → ACK), numbers dispatches, keeps each
 * session's dispatches so a RESUME after a dropped connection replays what was missed, and records what
 * the client did so tests can assert on the wire.
 * @see https://discord.com/developers/docs/events/gateway
 * @see https://discord.com/developers/docs/events/gateway-events
 * @see https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
 */
import { baseMessage, emulatedBotUser } from './discord-objects';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  ChannelType,
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  type APIInteraction,
  type APIUser,
  type GatewayMessageCreateDispatchData,
  type GatewayReadyDispatchData,
  type GuildMemberFlags,
} from '@discordjs/core/http-only';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { DiscordEmulator } from './discord-emulator';
import { newSnowflake, type InteractionUserInput } from './interaction-signer';

/** Options for {@link startGatewayEmulator}. */
export interface GatewayEmulatorOptions {
  /**
   * The REST emulator this gateway belongs to: IDENTIFY and RESUME must carry its bot token, its
   * `GET /gateway/bot` is pointed here, and dispatched interactions are registered with it so their
   * callbacks land in the right channel.
   */
  rest?: DiscordEmulator;
  /** The bot token to expect when no `rest` is given; any token is accepted when neither is set. */
  token?: string;
  /** The application (and bot user) id READY announces; `rest.applicationId` or a new snowflake. */
  applicationId?: string;
  /** HELLO's `heartbeat_interval`; Discord sends about 41 s, tests want well under a second. */
  heartbeatIntervalMs?: number;
  /**
   * Privileged intents the application has enabled in the Developer Portal (a bitfield of GUILD_MEMBERS,
   * GUILD_PRESENCES, MESSAGE_CONTENT). An IDENTIFY asking for one that is not enabled is closed with 4014,
   * as Discord does. Default: all enabled.
   */
  privilegedIntents?: number;
}

/** An IDENTIFY the emulator accepted: it started a new session. */
export interface RecordedIdentify {
  sessionId: string;
  intents: number;
  shard?: [number, number];
  at: number;
}

/** A RESUME the client sent, accepted or answered with INVALID_SESSION. */
export interface RecordedResume {
  sessionId: string;
  /** The last sequence number the client said it had seen. */
  seq: number;
  /** True when the client reconnected to READY's `resume_gateway_url`, as Discord asks. */
  viaResumeUrl: boolean;
  accepted: boolean;
  /** How many missed dispatches were replayed before RESUMED. */
  replayed: number;
  at: number;
}

/** A HEARTBEAT the client sent (`d` is the last sequence it saw). */
export interface RecordedHeartbeat {
  seq: number | null;
  at: number;
}

/** A WebSocket connection the client opened. */
export interface RecordedConnection {
  /** Which URL it used: the one `GET /gateway/bot` gives, or READY's `resume_gateway_url`. */
  url: 'gateway' | 'resume';
  query: Record<string, string>;
  at: number;
  /** The close code, once closed (whoever closed it). */
  closeCode?: number;
}

/** A dispatch the emulator numbered for a session (sent at once, or kept for a RESUME). */
export interface RecordedDispatch {
  sessionId: string;
  s: number;
  t: string;
  /** False while the session had no open connection: the dispatch waits for a RESUME. */
  sentLive: boolean;
  at: number;
}

/** A thread (or channel) message as {@link GatewayEmulator.dispatchMessage} builds it. */
export interface GatewayMessageInput {
  channelId: string;
  /** Omit for a direct message; the member (with `user.roles`) is included only in a guild. */
  guildId?: string;
  user: InteractionUserInput;
  content: string;
  /** True for a message by a bot (another one, or this one). */
  bot?: boolean;
  /** The channel's type as MESSAGE_CREATE reports it; default a public thread. */
  channelType?: ChannelType;
  id?: string;
}

/** A running gateway emulator. */
export interface GatewayEmulator {
  /** The URL `GET /gateway/bot` should return (no query; the client appends `?v=10&encoding=json`). */
  readonly url: string;
  /** READY's `resume_gateway_url`: a different path, so tests can see the client use it. */
  readonly resumeUrl: string;
  readonly identifies: readonly RecordedIdentify[];
  readonly resumes: readonly RecordedResume[];
  readonly heartbeats: readonly RecordedHeartbeat[];
  readonly connections: readonly RecordedConnection[];
  readonly dispatches: readonly RecordedDispatch[];
  /** True while at least one session has an open, identified (or resumed) connection. */
  readonly connected: boolean;
  /**
   * Sends a dispatch to every live session (routed by `guild_id` when the client shards), numbering it;
   * a session whose connection dropped keeps it for its RESUME.
   * @returns the sequence numbers given, one per session.
   * @throws Error when no session exists yet (nobody would ever receive it).
   */
  dispatch(event: string, data: unknown): number[];
  /** INTERACTION_CREATE (and registration with the REST emulator, so the callback lands in the channel). */
  dispatchInteraction(interaction: APIInteraction): number[];
  /**
   * MESSAGE_CREATE for a message a member typed. Sessions without GUILD_MESSAGES do not get guild messages,
   * and sessions without MESSAGE_CONTENT get an empty `content`, as on Discord.
   */
  dispatchMessage(input: GatewayMessageInput): GatewayMessageCreateDispatchData;
  /**
   * Closes every open connection with `code` (default 4000, "unknown error", which clients resume after).
   * With `forgetSession` the sessions are also invalidated, so the next RESUME gets INVALID_SESSION.
   * Resolves once the sockets are closed; the number of connections dropped.
   */
  dropConnection(code?: number, options?: { forgetSession?: boolean }): Promise<number>;
  /** Sends op 7 RECONNECT to every open connection: the client should close and RESUME. */
  requestReconnect(): void;
  /** Closes every connection and the server; calling it again does nothing. */
  close(): Promise<void>;
}

interface Session {
  readonly id: string;
  readonly intents: number;
  readonly shard: [number, number];
  seq: number;
  valid: boolean;
  /** Every numbered dispatch of the session, for replays. */
  readonly frames: { s: number; t: string; d: unknown }[];
  socket?: WebSocket;
}

interface Connection {
  readonly record: RecordedConnection;
  session?: Session;
}

const GATEWAY_PATH = '/gateway';
const RESUME_PATH = '/gateway-resume';
/** Discord's HELLO interval at the time of writing. */
const DEFAULT_HEARTBEAT_MS = 41_250;
const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
/** Discord rejects intents outside the documented bits with 4013. */
const KNOWN_INTENTS = Object.values(GatewayIntentBits)
  .filter((value): value is number => typeof value === 'number')
  .reduce((all, bit) => all | bit, 0);

/** A guild's shard, as Discord routes it: `(guild_id >> 22) % num_shards`; DMs go to shard 0. */
function shardOf(guildId: string | undefined, count: number): number {
  return guildId ? Number((BigInt(guildId) >> 22n) % BigInt(count)) : 0;
}

function guildIdOf(data: unknown): string | undefined {
  const guildId = (data as { guild_id?: unknown } | null)?.guild_id;
  return typeof guildId === 'string' ? guildId : undefined;
}

/**
 * Starts the gateway emulator on its own loopback port (its own port keeps the REST emulator's `close()`
 * from waiting on upgraded sockets). With `rest`, `GET /gateway/bot` is pointed at it.
 */
export async function startGatewayEmulator(opts: GatewayEmulatorOptions = {}): Promise<GatewayEmulator> {
  const expectedToken = opts.rest?.token ?? opts.token;
  const applicationId = opts.applicationId ?? opts.rest?.applicationId ?? newSnowflake();
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
  const enabledPrivileged = opts.privilegedIntents ?? PRIVILEGED_INTENTS;
  const botUser: APIUser = emulatedBotUser(applicationId);

  const identifies: RecordedIdentify[] = [];
  const resumes: RecordedResume[] = [];
  const heartbeats: RecordedHeartbeat[] = [];
  const connections: RecordedConnection[] = [];
  const dispatches: RecordedDispatch[] = [];
  const sessions = new Map<string, Session>();
  const sockets = new Set<WebSocket>();

  const send = (socket: WebSocket | undefined, frame: unknown): boolean => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  };

  /** Numbers a dispatch for one session and sends it if the session's connection is open. */
  function queue(session: Session, t: string, d: unknown): number {
    session.seq += 1;
    const frame = { s: session.seq, t, d };
    session.frames.push(frame);
    const sentLive = send(session.socket, { op: GatewayOpcodes.Dispatch, ...frame });
    dispatches.push({ sessionId: session.id, s: frame.s, t, sentLive, at: Date.now() });
    return frame.s;
  }

  function identify(socket: WebSocket, connection: Connection, d: Record<string, unknown>): void {
    if (expectedToken !== undefined && d.token !== expectedToken) return socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || (intents & ~KNOWN_INTENTS) !== 0) {
      return socket.close(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
    }
    if ((intents & PRIVILEGED_INTENTS & ~enabledPrivileged) !== 0) return socket.close(GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
    const requested = d.shard;
    let shard: [number, number] = [0, 1];
    if (requested !== undefined) {
      if (!Array.isArray(requested) || requested.length !== 2 || !requested.every((n) => Number.isInteger(n)) || requested[0] < 0 || requested[0] >= requested[1]) {
        return socket.close(GatewayCloseCodes.InvalidShard, 'Invalid shard.');
      }
      shard = [requested[0] as number, requested[1] as number];
    }
    const session: Session = { id: randomBytes(16).toString('hex'), intents, shard, seq: 0, valid: true, frames: [], socket };
    sessions.set(session.id, session);
    connection.session = session;
    identifies.push({ sessionId: session.id, intents, ...(requested !== undefined ? { shard } : {}), at: Date.now() });
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: botUser,
      guilds: [],
      session_id: session.id,
      resume_gateway_url: resumeUrl,
      shard,
      // No application flags set; the enum has no zero member, hence the cast.
      application: { id: applicationId, flags: 0 as GatewayReadyDispatchData['application']['flags'], flags_new: '0' },
    };
    queue(session, GatewayDispatchEvents.Ready, ready);
  }

  function resume(socket: WebSocket, connection: Connection, d: Record<string, unknown>): void {
    if (expectedToken !== undefined && d.token !== expectedToken) return socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
    const sessionId = typeof d.session_id === 'string' ? d.session_id : '';
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    const session = sessions.get(sessionId);
    const record: RecordedResume = { sessionId, seq, viaResumeUrl: connection.record.url === 'resume', accepted: false, replayed: 0, at: Date.now() };
    resumes.push(record);
    if (!session || !session.valid) {
      // `d: false`: not resumable, the client must IDENTIFY again.
      send(socket, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    if (seq > session.seq) return socket.close(GatewayCloseCodes.InvalidSeq, 'Invalid seq.');
    // A client that resumes while its old socket still looks open has abandoned it (a zombie connection).
    if (session.socket && session.socket !== socket) session.socket.terminate();
    session.socket = socket;
    connection.session = session;
    record.accepted = true;
    for (const frame of session.frames.filter((f) => f.s > seq)) {
      send(socket, { op: GatewayOpcodes.Dispatch, ...frame });
      record.replayed += 1;
    }
    queue(session, GatewayDispatchEvents.Resumed, {});
  }

  function onMessage(socket: WebSocket, connection: Connection, raw: RawData, isBinary: boolean): void {
    let frame: { op?: unknown; d?: unknown };
    try {
      if (isBinary) throw new Error('binary frames need compression, which is not emulated');
      frame = JSON.parse(raw.toString()) as typeof frame;
    } catch {
      return socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
    }
    const d = (typeof frame.d === 'object' && frame.d !== null ? frame.d : {}) as Record<string, unknown>;
    switch (frame.op) {
      case GatewayOpcodes.Heartbeat:
        heartbeats.push({ seq: typeof frame.d === 'number' ? frame.d : null, at: Date.now() });
        send(socket, { op: GatewayOpcodes.HeartbeatAck });
        return;
      case GatewayOpcodes.Identify:
        if (connection.session) return socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
        return identify(socket, connection, d);
      case GatewayOpcodes.Resume:
        if (connection.session) return socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
        return resume(socket, connection, d);
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
      case GatewayOpcodes.RequestSoundboardSounds:
        // Accepted and ignored: nothing in this service sends them, but they are valid once authenticated.
        if (!connection.session) socket.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
        return;
      default:
        socket.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
    }
  }

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'ws://127.0.0.1');
    const record: RecordedConnection = { url: url.pathname === RESUME_PATH ? 'resume' : 'gateway', query: Object.fromEntries(url.searchParams), at: Date.now() };
    connections.push(record);
    sockets.add(socket);
    const connection: Connection = { record };
    socket.on('message', (raw, isBinary) => onMessage(socket, connection, raw, isBinary));
    socket.on('close', (code) => {
      sockets.delete(socket);
      record.closeCode = code;
      const session = connection.session;
      if (session?.socket === socket) {
        session.socket = undefined;
        // A client closing with 1000/1001 ends its session on Discord; any other code leaves it resumable.
        if (code === 1000 || code === 1001) session.valid = false;
      }
    });
    socket.on('error', () => socket.terminate());

    if (record.query.v !== '10') return socket.close(GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version.');
    if ((record.query.encoding ?? 'json') !== 'json' || record.query.compress !== undefined) {
      // Only what @discordjs/ws 2.x sends by default is emulated: JSON without transport compression.
      return socket.close(GatewayCloseCodes.DecodeError, 'Only encoding=json without compress is emulated.');
    }
    send(socket, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: heartbeatIntervalMs } });
  });

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('This is a WebSocket gateway.');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'ws://127.0.0.1').pathname;
    if (path !== GATEWAY_PATH && path !== RESUME_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}${GATEWAY_PATH}`;
  const resumeUrl = `ws://127.0.0.1:${port}${RESUME_PATH}`;
  opts.rest?.setGatewayUrl(url);

  const emulator: GatewayEmulator = {
    url,
    resumeUrl,
    identifies,
    resumes,
    heartbeats,
    connections,
    dispatches,
    get connected() {
      return [...sessions.values()].some((session) => session.valid && session.socket?.readyState === WebSocket.OPEN);
    },
    dispatch(event, data) {
      const guildId = guildIdOf(data);
      const targets = [...sessions.values()].filter((session) => session.valid && shardOf(guildId, session.shard[1]) === session.shard[0]);
      if (targets.length === 0) throw new Error(`No gateway session to receive ${event}: the bot never identified (or its sessions were invalidated).`);
      return targets.map((session) => queue(session, event, data));
    },
    dispatchInteraction(interaction) {
      opts.rest?.registerInteraction({
        id: interaction.id,
        token: interaction.token,
        type: interaction.type,
        ...(interaction.channel?.id ? { channel_id: interaction.channel.id } : {}),
        ...(interaction.guild_id ? { guild_id: interaction.guild_id } : {}),
        ...('message' in interaction && interaction.message ? { message: { id: interaction.message.id } } : {}),
        ...(interaction.member ? { member: { user: interaction.member.user } } : {}),
        ...(interaction.user ? { user: interaction.user } : {}),
      });
      return emulator.dispatch(GatewayDispatchEvents.InteractionCreate, interaction);
    },
    dispatchMessage(input) {
      const username = input.user.username ?? `user${input.user.id.slice(-4)}`;
      const author = { id: input.user.id, username, discriminator: '0', global_name: username, avatar: null, ...(input.bot ? { bot: true } : {}) };
      const message: GatewayMessageCreateDispatchData = {
        ...baseMessage(input.id ?? newSnowflake(), input.channelId, author, input.content),
        channel_type: (input.channelType ?? ChannelType.PublicThread) as GatewayMessageCreateDispatchData['channel_type'],
        ...(input.guildId
          ? {
              guild_id: input.guildId,
              member: {
                roles: [...input.user.roles],
                joined_at: new Date(Date.now() - 86_400_000).toISOString(),
                deaf: false,
                mute: false,
                flags: 0 as GuildMemberFlags,
              },
            }
          : {}),
      };
      const targets = [...sessions.values()].filter((session) => session.valid && shardOf(input.guildId, session.shard[1]) === session.shard[0]);
      if (targets.length === 0) throw new Error('No gateway session to receive MESSAGE_CREATE: the bot never identified.');
      for (const session of targets) {
        const wanted = input.guildId ? GatewayIntentBits.GuildMessages : GatewayIntentBits.DirectMessages;
        if ((session.intents & wanted) === 0) continue;
        // Without the privileged intent Discord still sends the event, with the content fields emptied.
        const visible = (session.intents & GatewayIntentBits.MessageContent) !== 0 ? message : { ...message, content: '' };
        queue(session, GatewayDispatchEvents.MessageCreate, visible);
      }
      return message;
    },
    async dropConnection(code = GatewayCloseCodes.UnknownError, options = {}) {
      const open = [...sessions.values()].filter((session) => session.socket?.readyState === WebSocket.OPEN);
      if (options.forgetSession) for (const session of sessions.values()) session.valid = false;
      await Promise.all(
        open.map(
          (session) =>
            new Promise<void>((resolve) => {
              const socket = session.socket!;
              socket.once('close', () => resolve());
              socket.close(code, 'Dropped by the emulator.');
            }),
        ),
      );
      return open.length;
    },
    requestReconnect() {
      for (const session of sessions.values()) send(session.socket, { op: GatewayOpcodes.Reconnect, d: null });
    },
    async close() {
      if (!server.listening) return;
      for (const socket of sockets) socket.terminate();
      wss.close();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
