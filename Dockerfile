# relaycheck: one image build, three targets.
#   web     — the Next.js standalone server behind scripts/serve-web.mjs (no dev dependencies)
#   worker  — the BullMQ worker (TypeScript run by tsx; scale it: --scale worker=4)
#   migrate — `prisma migrate deploy`, run once before web and workers start
# docker-compose.yml wires them with PostgreSQL and Redis.

FROM node:24.22.3-bookworm-slim AS base
ENV NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
WORKDIR /app

# Dependencies. postinstall generates the Prisma client, so the schema and scripts come first.
FROM base AS deps
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund

# The Next.js build (output: "standalone").
FROM deps AS build
COPY . .
RUN npx next build

# Migrations and the worker run from the full tree (Prisma CLI, tsx, sources).
FROM deps AS app
COPY --from=build /app /app
RUN chown -R node:node /app/lib/generated
USER node

FROM app AS migrate
CMD ["npx", "tsx", "scripts/run-prisma.ts", "migrate", "deploy"]

FROM app AS worker
ENV NODE_ENV=production
CMD ["node", "--max-semi-space-size=16", "--import", "tsx", "worker/main.ts"]

# The web server: only the traced files of the standalone build.
FROM base AS web
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY --from=build --chown=node:node /app/.next/standalone ./
COPY --from=build --chown=node:node /app/.next/static ./.next/static
COPY --from=build --chown=node:node /app/scripts/serve-web.mjs ./serve-web.mjs
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "serve-web.mjs"]
