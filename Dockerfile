# redis-medic: Slack app + workers + monitor (`start`, the default) or workers only (`worker`).
FROM node:20-bookworm-slim

# redis-cli is handy for operators inside the container; redis-medic itself talks RESP via ioredis.
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-tools tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# tsx (a runtime dependency) runs the TypeScript sources directly: no build step to drift.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json manifest.yml ./

USER node
ENV NODE_ENV=production PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tini forwards SIGTERM so running jobs finish before the container stops.
ENTRYPOINT ["tini", "--", "node", "bin/redis-medic"]
CMD ["start"]
