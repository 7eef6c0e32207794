# syntax=docker/dockerfile:1
# The service's image: `start` on Node 24 LTS, talking to the Temporal server and PostgreSQL that
# docker-compose.yml runs beside it (or any others, through TEMPORAL_ADDRESS and DATABASE_URL; README "Containers").
# Debian slim, not Alpine: the Temporal core SDK's native bridge is built for glibc only.
#
#   docker build -t jules-orchestrator .
#   docker run --rm -p 3000:3000 --env-file .env -v jules-data:/data jules-orchestrator
#
# test/container.test.ts runs this file's install and start steps outside Docker and lints it.

ARG NODE_IMAGE=node:24-slim

# Stage 1: the production dependencies, from the lock exactly. npm's cache and the lock's dev-only packages stay
# in this stage. Install scripts follow package.json's allowScripts (none of the production ones is needed).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: what runs. Node 24 strips the TypeScript's types itself (bin/typescript-loader.mjs), so there is no build step.
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards signals to node and reaps children (embedded mode starts a `temporal` child);
# ca-certificates for TLS to Discord, Jules, GitHub and Temporal Cloud (slim lacks them).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts ./scripts
COPY supabase ./supabase
# The workflows bundled now, into node_modules/.cache/, so each start skips webpack (two to three seconds of CPU);
# `start` uses that bundle only while every file it came from is unchanged.
RUN node scripts/bundle-workflows.mjs
# The embedded store (PGlite), generated keys and tokens live in DATA_DIR, the one place the service writes.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# Liveness: the ingress answers. Node's fetch, since slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# node itself, never `npm start`: npm does not pass SIGTERM on, so `docker stop` would wait and kill.
CMD ["node", "bin/jules-orchestrator.mjs", "start"]
