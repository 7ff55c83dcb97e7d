import { z } from 'zod';
import { type IngestToken, mergeTokens, readIngestTokensFile } from './ingest/tokens.ts';
import { TopicsEnvShape, topicsConfig, type TopicsConfig } from '@pullwatch/kafka';

const bool = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  PULLWATCH_INGEST_HOST: z.string().min(1).default('127.0.0.1'),
  PULLWATCH_INGEST_PORT: z.coerce.number().int().min(0).max(65535).default(4318),
  // The topics and their partitions, shared with the analyzer.
  ...TopicsEnvShape,
  PULLWATCH_ALL_EVENTS: bool.default(false),
  // The Namespace label naming a Pod's team (e.g. `team`); unset: no Namespace watch, team unknown.
  PULLWATCH_TEAM_LABEL: z
    .string()
    .regex(/^([A-Za-z0-9.-]{1,253}\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/, 'a Kubernetes label key')
    .optional(),
  // What one ingest request may be and hold (issue 21: each bound keeps one request from stalling the ingest).
  PULLWATCH_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  PULLWATCH_MAX_EVENTS_PER_REQUEST: z.coerce.number().int().min(1).default(5000),
  PULLWATCH_MAX_JSON_DEPTH: z.coerce.number().int().min(8).max(1000).default(64),
  PULLWATCH_MAX_REQUESTS_IN_FLIGHT: z.coerce.number().int().min(1).default(32),
  // What may wait for Kafka's acknowledgement: events and bytes of encoded envelopes, whichever binds first…
  PULLWATCH_BUFFER_MAX_EVENTS: z.coerce.number().int().min(1).default(50_000),
  PULLWATCH_BUFFER_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(32 * 1024 * 1024),
  // …and how long a request that does not fit waits for room before it is answered 503 (0: at once).
  PULLWATCH_BUFFER_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
  PULLWATCH_PRODUCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  PULLWATCH_KUBECONFIG: z.string().min(1).optional(),
  PULLWATCH_KUBE_CONTEXTS: z.string().optional(),
  PULLWATCH_IN_CLUSTER: bool.default(false),
  PULLWATCH_INGEST_TOKEN: z.string().trim().min(16, 'at least 16 characters').optional(),
  PULLWATCH_INGEST_TOKENS_FILE: z.string().min(1).optional(),
  PULLWATCH_INGEST_AUTH: z.enum(['token', 'none']).default('token'),
  PULLWATCH_CLUSTER: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" or "-"')
    .optional(),
});

/**
 * Who may post to the ingest routes: holders of a token, each for its clusters; anyone (`none`, set
 * explicitly for a trusted network); or nobody (`closed`: no token configured, the collector only
 * watches Kubernetes).
 */
export type IngestAuth = { kind: 'tokens'; tokens: IngestToken[] } | { kind: 'none' } | { kind: 'closed' };

/** Where the Kubernetes watch reads from: nothing, this cluster (in-cluster), or kubeconfig contexts. */
export type KubeSource =
  | { kind: 'none' }
  | { kind: 'in-cluster'; cluster: string }
  | { kind: 'kubeconfig'; path: string; contexts: { context: string; cluster: string }[] };

export interface CollectorConfig {
  host: string;
  port: number;
  topics: TopicsConfig;
  allEvents: boolean;
  /** The Namespace label that names a team; null: the watch reads no Namespaces and sends no team. */
  teamLabel: string | null;
  maxBodyBytes: number;
  /** Events (JSON) or log records (OTLP) in one request at most (413 past it). */
  maxEventsPerRequest: number;
  /** How deep JSON (and OTLP protobuf messages) may nest (400 past it), checked before anything recursive parses it. */
  maxJsonDepth: number;
  /** Ingest requests being read and processed at once at most; more are answered 429 with Retry-After. */
  maxRequestsInFlight: number;
  /**
   * Accepted but not yet acknowledged by Kafka, at most: events and bytes of encoded envelopes (a larger
   * request alone goes when nothing else waits). A request that does not fit waits up to `waitMs` for
   * room, then ingest answers 503 with Retry-After.
   */
  buffer: { maxEvents: number; maxBytes: number; waitMs: number };
  produceTimeoutMs: number;
  kube: KubeSource;
  ingestAuth: IngestAuth;
}

export function loadCollectorConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success)
    throw new Error(
      `invalid collector settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const e = r.data;
  let kube: KubeSource = { kind: 'none' };
  if (e.PULLWATCH_IN_CLUSTER) {
    if (!e.PULLWATCH_CLUSTER)
      throw new Error(
        'invalid collector settings: PULLWATCH_IN_CLUSTER=true needs PULLWATCH_CLUSTER (the name this cluster ' +
          'has in pullwatch)',
      );
    kube = { kind: 'in-cluster', cluster: e.PULLWATCH_CLUSTER };
  } else if (e.PULLWATCH_KUBECONFIG) {
    // `ctx` or `ctx=name`: each context is a cluster, named after the context unless renamed.
    const contexts = (e.PULLWATCH_KUBE_CONTEXTS ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => {
        const [context, cluster] = c.split('=') as [string, string | undefined];
        return { context, cluster: cluster ?? context };
      });
    kube = { kind: 'kubeconfig', path: e.PULLWATCH_KUBECONFIG, contexts };
  }
  const tokens = mergeTokens([
    ...(e.PULLWATCH_INGEST_TOKEN ? [{ token: e.PULLWATCH_INGEST_TOKEN, clusters: '*' as const }] : []),
    ...(e.PULLWATCH_INGEST_TOKENS_FILE ? readIngestTokensFile(e.PULLWATCH_INGEST_TOKENS_FILE) : []),
  ]);
  let ingestAuth: IngestAuth;
  if (e.PULLWATCH_INGEST_AUTH === 'none') {
    if (tokens.length)
      throw new Error(
        'invalid collector settings: PULLWATCH_INGEST_AUTH=none with ingest tokens configured; drop one or the other',
      );
    ingestAuth = { kind: 'none' };
  } else if (tokens.length) {
    ingestAuth = { kind: 'tokens', tokens };
  } else if (kube.kind !== 'none') {
    // Watching Kubernetes needs no ingest; without a token the ingest routes stay closed (401).
    ingestAuth = { kind: 'closed' };
  } else {
    throw new Error(
      'invalid collector settings: the ingest needs a token: set PULLWATCH_INGEST_TOKEN (all clusters) or ' +
        'PULLWATCH_INGEST_TOKENS_FILE ({token, clusters} per entry), or PULLWATCH_INGEST_AUTH=none to accept ' +
        'unauthenticated events (trusted networks only)',
    );
  }
  return {
    kube,
    ingestAuth,
    host: e.PULLWATCH_INGEST_HOST,
    port: e.PULLWATCH_INGEST_PORT,
    topics: topicsConfig(e),
    allEvents: e.PULLWATCH_ALL_EVENTS,
    teamLabel: e.PULLWATCH_TEAM_LABEL ?? null,
    maxBodyBytes: e.PULLWATCH_MAX_BODY_BYTES,
    maxEventsPerRequest: e.PULLWATCH_MAX_EVENTS_PER_REQUEST,
    maxJsonDepth: e.PULLWATCH_MAX_JSON_DEPTH,
    maxRequestsInFlight: e.PULLWATCH_MAX_REQUESTS_IN_FLIGHT,
    buffer: {
      maxEvents: e.PULLWATCH_BUFFER_MAX_EVENTS,
      maxBytes: e.PULLWATCH_BUFFER_MAX_BYTES,
      waitMs: e.PULLWATCH_BUFFER_WAIT_MS,
    },
    produceTimeoutMs: e.PULLWATCH_PRODUCE_TIMEOUT_MS,
  };
}
