import { RESTEvents, type REST } from '@discordjs/rest';
import type { ServiceMetrics } from '../metrics/service-metrics';

/**
 * Counts a `@discordjs/rest` client's requests and rate limits from the events it emits: `response` after every
 * attempt (a 429 included), `rateLimited` whenever it meets or waits out a limit.
 * @see https://discord.js.org/docs/packages/rest/main/RESTEvents:Enum
 */
export function observeDiscordRest(rest: REST, metrics: Pick<ServiceMetrics, 'discordRequests' | 'discordRateLimits' | 'noteRecent'>): void {
  rest.on(RESTEvents.Response, (request, response) => {
    metrics.discordRequests.inc({ method: request.method.toUpperCase(), route: discordRouteLabel(request.route), status: String(response.status) });
    if (response.status === 429) metrics.noteRecent('discord_rate_limited');
  });
  rest.on(RESTEvents.RateLimited, (info) => {
    metrics.discordRateLimits.inc({ route: discordRouteLabel(info.route), global: String(info.global) });
  });
}

/**
 * The library's bucket route as a label with nothing secret or unbounded left in it. Snowflakes are already `:id`,
 * but an interaction callback's path keeps the interaction token (`/interactions/:id/<token>/callback`), so any
 * segment that is not a plain word becomes `:token`.
 */
export function discordRouteLabel(route: string): string {
  return route
    .split('/')
    .map((segment) => (segment === '' || /^(:[a-z]+|@[a-z]+|[a-z][a-z-]{0,31})$/.test(segment) ? segment : /^\d+$/.test(segment) ? ':id' : ':token'))
    .join('/');
}
