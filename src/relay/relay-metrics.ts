// The counters the relay bumps on its hot path. Declared here (not imported
// from observability) so data flows one way: the metrics registry satisfies
// this shape structurally and the relay never reaches up to it.
export interface RelayMetrics {
  framesClientToUpstream: number;
  bytesClientToUpstream: number;
  framesUpstreamToClient: number;
  bytesUpstreamToClient: number;
  backpressurePauses: number;
  slowClientCloses: number;
  slowUpstreamCloses: number;
  pendingOverflows: number;
  bufferBudgetPauses: number;
  bufferBudgetSheds: number;
  upstreamConnectsOk: number;
  upstreamConnectsUnauthorized: number;
  upstreamConnectsForbidden: number;
  upstreamConnectsTimeout: number;
  upstreamConnectsError: number;
  closesClient: number;
  closesUpstream: number;
  closesProxy: number;
  readonly upstreamConnectSeconds: { observe(seconds: number): void };
}
