# syntax=docker/dockerfile:1
# voice-live-proxy: multi-stage build, non-root runtime.
#
# Debian (glibc), not Alpine: uWebSockets.js ships prebuilt binaries linked
# against glibc only (uws_linux_<arch>_<abi>.node), and bufferutil's prebuilds
# are glibc too. On musl the require fails at start. "slim" keeps the image
# small without giving that up.

# ---- build: compile TypeScript with the dev dependencies ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled JavaScript only ----
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the app; it needs no write access.
USER node
EXPOSE 8080
# slim has no curl or wget; node itself does the probe (fetch is global since Node 18).
# /health answers 503 while draining, so a stopping container reports unhealthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
STOPSIGNAL SIGTERM
# Exec form with node as PID 1: SIGTERM reaches the app directly (npm start
# would swallow it), and the app spawns no child processes that need reaping.
CMD ["node", "dist/index.js"]
