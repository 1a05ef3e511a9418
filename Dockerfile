# syntax=docker/dockerfile:1
# One image for every app; the service picks its app with `command`.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 NX_DAEMON=false
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npx prisma generate && npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
# A V8 heap cap well above the apps' live set makes V8 collect before garbage grows the heap to
# what the machine's memory would allow: it lowers peak RSS under load (figures: docs/benchmarks.md).
ENV NODE_ENV=production CHECKPOINT_DISABLE=1 BROKER_CONFIG=/app/config/broker.yaml NODE_OPTIONS="--max-old-space-size=128"
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/libs/store/src/generated ./libs/store/src/generated
COPY package.json prisma.config.ts ./
COPY prisma ./prisma
COPY config ./config
USER node
# Overridden per service (docker-compose.yml, deploy/k8s).
CMD ["node", "dist/apps/ingress/main.mjs"]
