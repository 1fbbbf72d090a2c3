// PM2, from a checkout (tsc is a dev dependency, so build before pruning):
//   npm ci && npm run build && npm prune --omit=dev
//   pm2 start ecosystem.config.cjs
//
// Settings come from .env beside this file (and the environment PM2 is started
// from), exactly as with `npm start`. Nothing is set here that .env should
// decide: values in `env` would beat .env and silently override it.
//
// One instance in fork mode: the app already uses every core through its own
// worker threads sharing one port (WORKERS, default 0 = one per core; 1 = a
// single thread), with a single connection counter across them. PM2 cluster mode
// would start several independent processes, each with its own
// MAX_CONNECTIONS budget and rate limiter, so the limits would multiply.
module.exports = {
  apps: [
    {
      name: 'voice-live-proxy',
      script: 'dist/index.js',
      // The relay's young generation, as in the Dockerfile's CMD
      // (src/cluster/young-generation.ts): it matters when WORKERS=1.
      node_args: '--max-semi-space-size=2',
      // .env is read from the working directory.
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      // PM2 stops with SIGINT (handled like SIGTERM: drain, close sessions 1001
      // after SHUTDOWN_GRACE_MS, exit 0), then SIGKILL after kill_timeout, so
      // this must be longer than SHUTDOWN_GRACE_MS (default 10000) + 3 s.
      kill_timeout: 30000,
      autorestart: true,
      exp_backoff_restart_delay: 200,
      // No max_memory_restart: a restart drops every live call, and the proxy
      // bounds its own memory: bytes held for slow peers are capped by
      // BUFFER_BUDGET_BYTES (1 GiB by default outside a container), past which
      // the sessions holding the most are closed 1013. Size the host for that.
      // pino writes JSON with its own `time`; PM2 need not prefix lines.
      time: false,
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
