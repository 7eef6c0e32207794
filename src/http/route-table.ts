import type { FastifyInstance } from 'fastify';

/** The routes of an app by path, to tell a wrong method (405) from a wrong path (404). */
export interface RouteTable {
  /** The methods some route takes at this URL's path, sorted; empty when no route has the path. */
  methodsAt(url: string): string[];
}

/**
 * Records every route `app` registers from now on (call it before the routes). Fastify answers 404 for a known
 * path with an unknown method; the not-found handler asks this table to answer 405 with `Allow` instead.
 */
export function createRouteTable(app: FastifyInstance): RouteTable {
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ pattern: patternOf(route.url), methods });
  });
  return {
    methodsAt(url) {
      const path = url.split('?')[0] ?? url;
      const methods = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods));
      return [...methods].sort();
    },
  };
}

/** `/codec/:token/decode` → a regular expression matching its paths (a parameter is one non-empty segment). */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}
