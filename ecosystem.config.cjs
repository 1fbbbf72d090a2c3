// PM2: `npm ci --omit=dev && npm run build && pm2 start ecosystem.config.cjs`.
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
      exec_mode: 'fork',
      instances: 1,
      // PM2 stops with SIGINT (handled like SIGTERM: drain, close sessions 1001
      // after SHUTDOWN_GRACE_MS, exit 0), then SIGKILL after kill_timeout, so
      // this must be longer than SHUTDOWN_GRACE_MS (default 10000).
      kill_timeout: 30000,
      autorestart: true,
      exp_backoff_restart_delay: 200,
      max_memory_restart: '1G',
      // pino writes JSON with its own `time`; PM2 need not prefix lines.
      time: false,
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
        PORT: 8080,
        AZURE_AI_FOUNDRY_RESOURCE: 'my-foundry-resource',
        ALLOWED_ORIGINS: 'https://app.example.com',
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: 10000,
        // Secrets (AZURE_SPEECH_KEY, METRICS_TOKEN, APPLICATIONINSIGHTS_CONNECTION_STRING)
        // belong in the environment PM2 is started from or in .env, not here.
      },
    },
  ],
};
