# syntax=docker/dockerfile:1
# voice-live-proxy: multi-stage build, non-root runtime, amd64 and arm64
# (`docker buildx build --platform linux/amd64,linux/arm64 .`).
#
# Debian (glibc), not Alpine: uWebSockets.js ships prebuilt binaries linked
# against glibc only (uws_linux_<arch>_<abi>.node), and bufferutil's prebuilds
# are glibc too. On musl the require fails at start. "slim" keeps the image
# small without giving that up.
#
# Application Insights is optional: `--build-arg APPLICATIONINSIGHTS=true`
# installs the `applicationinsights` version named in package.json
# (peerDependencies); without it the image is smaller and telemetry stays off.

# Node 22 (22.12 or later, as every current node:22 image): jose 6 is an ES
# module that the proxy loads with require(esm), unflagged since 22.12 and 20.19
# (package.json "engines"). Not Node 24 or later: their uWebSockets.js binaries
# need glibc 2.38 and bookworm has 2.36 (docs/deploy/docker.md, src/native-runtime.ts).

# ---- build: compile TypeScript, then leave only what the runtime needs ----
FROM node:22-bookworm-slim AS build
ARG APPLICATIONINSIGHTS=false
WORKDIR /app
# bufferutil 4.1.0 has no linux-arm64 prebuild: npm compiles it with node-gyp,
# which needs these. Build stage only; the runtime image never has a compiler.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund
RUN if [ "$APPLICATIONINSIGHTS" = "true" ]; then \
      npm install --no-save --omit=dev --no-audit --no-fund \
        "applicationinsights@$(node -p 'require("./package.json").peerDependencies.applicationinsights')"; \
    fi
# @based/uws ships 34 prebuilt binaries (184 MB) for every OS, CPU and Node
# ABI; this image runs exactly one of them. Keep it, fail the build if absent.
RUN cd node_modules/uWebSockets.js \
  && keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node" \
  && test -f "$keep" \
  && find . -maxdepth 1 -name 'uws_*.node' ! -name "$keep" -delete
# Both native modules load on this platform, or the build stops here (not at start).
RUN node -e "require('bufferutil'); require('uWebSockets.js')"

# ---- runtime: production dependencies and the compiled JavaScript only ----
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The demo page (56 KB), read only when DEMO=true: the same image can show it.
COPY demo/public ./demo/public
# Files stay root-owned and read-only to the app; it needs no write access.
USER node
EXPOSE 8080
# slim has no curl or wget; node itself does the probe, over https:// when the
# proxy serves TLS itself (TLS_CERT_FILE). The certificate names the public host,
# not 127.0.0.1, and the probe asks only whether this process answers: it is not checked.
# /health answers 503 while draining. Every 5 s, unhealthy after 2 failures:
# a drain (SHUTDOWN_GRACE_MS, 10 s by default, + up to 3 s) shows within 10 s.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=2 \
  CMD node -e "require(process.env.TLS_CERT_FILE?'https':'http').get({host:'127.0.0.1',port:process.env.PORT||8080,path:'/health',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"
STOPSIGNAL SIGTERM
# Exec form with node as PID 1: SIGTERM reaches the app directly (npm start
# would put npm in between), and with the flag below the app spawns no child
# process that needs reaping (without it, WORKERS=1 starts node once more).
# --max-semi-space-size=2: a relay's young generation, as for its worker
# threads (src/cluster/young-generation.ts; with WORKERS=1 this thread relays).
CMD ["node", "--max-semi-space-size=2", "dist/index.js"]
