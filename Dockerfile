# redis-medic: Slack app + workers + monitor (`start`, the default) or workers only (`worker`).
# Two stages: the build stage compiles TypeScript (dev dependencies); the runtime stage has the
# production dependencies and dist/ only, so no compiler, tests or sources ship in the image.

# Node 22 is an active LTS line (Node 20 is past end of life). Pin a digest in your registry.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
ARG GIT_COMMIT=unknown
RUN GIT_COMMIT=${GIT_COMMIT} npm run build

FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM so running jobs finish before the container stops, and
# reaps zombies. redis-cli is handy for operators inside the container; redis-medic itself
# talks RESP through ioredis.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini redis-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY manifest.yml redis-medic.example.yml ./

# The node image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
ENV NODE_ENV=production \
    PORT=3000 \
    INTERNAL_PORT=9464 \
    REDIS_MEDIC_CONFIG=/etc/redis-medic/config.yml
# 3000: Slack requests and /alerts. 9464: /healthz, /readyz and /metrics (keep it cluster-internal).
EXPOSE 3000 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.INTERNAL_PORT||process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tini", "--", "node", "bin/redis-medic"]
CMD ["start"]
