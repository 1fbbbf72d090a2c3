// The CI job that builds and runs the image (.github/workflows/docker.yml):
// it must build this Dockerfile, probe /health, and check the exit code of a
// SIGTERM, the three things the image promises (docs/deploy/docker.md).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { 'runs-on': string; steps: Array<{ name?: string; run?: string; uses?: string }> }>;
}

t.test('the docker workflow builds, probes and stops the image', async (t) => {
  const wf = parse(readFileSync(join(ROOT, '.github', 'workflows', 'docker.yml'), 'utf8')) as Workflow;
  t.ok(wf.on.push !== undefined && wf.on.pull_request !== undefined, 'runs on push and pull requests');
  const job = wf.jobs.image;
  t.match(job['runs-on'], /^ubuntu-/, 'a runner with Docker');
  const script = job.steps.map((s) => s.run ?? '').join('\n');
  t.match(script, /docker build -t voice-live-proxy:ci \./);
  t.match(script, /curl -fsS http:\/\/127\.0\.0\.1:8080\/health/);
  t.match(script, /\.State\.Health\.Status/, 'waits for the HEALTHCHECK verdict');
  t.match(script, /docker stop .*\n.*\.State\.ExitCode.*= 0/, 'SIGTERM ends in exit 0');
});
