/**
 * Every limit of the HTTP ingress in one place (README, "HTTP limits"). Routes read their body limit here, the
 * JSON parser its depth, and `buildApp` hands the timeouts to Node's server.
 */
export const HTTP_LIMITS = {
  /** The largest body of a route without a limit of its own (fastify's default): an interaction is a few KB. Above: 413. */
  bodyBytes: 1024 * 1024,
  /** `POST /webhook/github`: GitHub does not deliver payloads over 25 MB at all. */
  githubWebhookBodyBytes: 25 * 1024 * 1024,
  /** `POST /codec/*`: a whole page of events, each payload up to Temporal's 2 MB limit, in base64. */
  codecBodyBytes: 16 * 1024 * 1024,
  /** How deeply objects and arrays may nest in a JSON body; deeper is 400 `JSON_TOO_DEEP` before it is parsed. */
  jsonDepth: 64,
  /**
   * How long a client has to send a whole request, headers and body (Node's `requestTimeout`); after it, 408 and
   * the socket is closed, so a slow sender cannot hold a connection. Discord and GitHub send in milliseconds.
   */
  requestTimeoutMs: 15_000,
} as const;

/** The limits' shape, for an app built with other values (tests shorten the timeouts). */
export type HttpLimits = { readonly [K in keyof typeof HTTP_LIMITS]: number };
