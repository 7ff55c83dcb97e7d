import { z } from 'zod';
import type { EgressSettings } from '../core/quota.ts';
import { accountLevel, quotaByAccount, quotaByEgress, quotaLevel } from '../core/quota.ts';
import { team, Window, window } from '../params.ts';
import type { Route } from '../route.ts';
import type { TeamResolver } from '../teams/resolver.ts';
import { NOW_LOOKBACK_MS } from '../core/teams.ts';
import type { Diagnosed, Diagnoser } from './diagnoser.ts';
import type { DiagnosisQueries } from './queries.ts';

const name = z.string().min(1).max(512);

export const QuotaQuery = z.object({}).strict();
export const RecoveryQuery = Window.extend({
  groupBy: z.enum(['cause', 'registry', 'cluster']).default('cause'),
  cluster: name.optional(),
  team,
}).strict();

const Evidence = z
  .enum([
    'fleet_pulls_same_repository',
    'similar_fleet_image',
    'docker_official_image',
    'moved_image',
    'upstream_rate_limited',
  ])
  .nullable()
  .describe('What the suggestion or the changed cause rests on');

/**
 * The fields "did you mean" adds to /v1/failures, /v1/pods/stuck and /v1/incidents items (for the OpenAPI
 * document).
 */
export const DiagnosisFields = z.object({
  cause: z
    .string()
    .describe(
      'The cause after the fleet evidence: an ambiguous denial of a repository that pulls elsewhere becomes ' +
        'unauthorized; one of a repository that never pulled, with a close name that does (or a moved ' +
        'repository), becomes not_found',
    ),
  suggestion: z.string().nullable().describe('The image the user most likely meant, or null'),
  evidence: Evidence,
  hint: z
    .string()
    .nullable()
    .describe(
      'Starts with "Did you mean IMAGE?" when there is a suggestion; with evidence upstream_rate_limited (a ' +
        'not found from a Docker Hub pull-through cache while Docker Hub rate-limits the fleet), says the proxy ' +
        "cache may be masking Docker Hub's rate limit",
    ),
});

const Seconds = z.number().nullable();
export const QuotaResponse = z.object({
  window: z.string(),
  egresses: z.array(
    z.object({
      egress: z.string().describe('cluster:NAME, node:CLUSTER/NODE or group:NAME'),
      clusters: z.array(z.string()),
      limit: z.number().int(),
      used: z.number().int(),
      remaining: z.number().int(),
      ratePerHour: z.number(),
      exhaustedAt: z.string().nullable().describe('When the current rate would exhaust the quota within the window'),
      rateLimitedFailures: z.number().int(),
      level: z
        .enum(['ok', 'near', 'full'])
        .describe("full: used up; near: past the dockerhub_quota alert rule's threshold (0.8 by default)"),
      window: z.string().optional().describe('Only when this egress has its own window'),
      prefixes: z
        .array(z.string())
        .optional()
        .describe('Only for a group with prefixes: the address prefixes (docker-ratelimit-source) of this bucket'),
    }),
  ),
  accounts: z
    .array(
      z.object({
        account: z.string().describe('Docker ID: authenticated pulls count per account, whatever the address'),
        configured: z
          .boolean()
          .describe("false: named only by Docker Hub's 429s (`as 'ID'`); none of its pulls are attributed to it"),
        clusters: z.array(z.string()),
        limit: z.number().int(),
        window: z.string(),
        used: z.number().int().describe('Pulls the settings attribute to this account (its credentials)'),
        remaining: z.number().int(),
        ratePerHour: z.number(),
        exhaustedAt: z.string().nullable(),
        rateLimitedFailures: z.number().int().describe("Docker Hub's 429s naming this account in the window"),
        lastRateLimitedAt: z.string().nullable(),
        level: z
          .enum(['ok', 'near', 'full'])
          .describe('As an egress, and full when Docker Hub refused the account within the last hour'),
      }),
    )
    .describe('Authenticated pulls, one bucket per Docker Hub account across clusters'),
});
export const RecoveryResponse = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(['cause', 'registry', 'cluster']),
  groups: z.array(
    z
      .object({ count: z.number().int(), p50: Seconds, p90: Seconds, max: Seconds, stillStuck: z.number().int() })
      .catchall(z.union([z.string(), z.number(), z.null()])),
  ),
  incidents: z.array(
    z
      .object({ count: z.number().int(), p50: Seconds, p90: Seconds, max: Seconds, open: z.number().int() })
      .catchall(z.union([z.string(), z.number(), z.null()])),
  ),
});

/** Adds suggestion, evidence and the diagnosed cause and hint to each item (one fleet read per request). */
export async function withDiagnosis<T extends { image: unknown; cause: unknown; hint: unknown }>(
  diagnoser: Diagnoser,
  items: T[],
  now: Date,
): Promise<(T & { cause: string; suggestion: string | null; evidence: string | null; hint: string })[]> {
  const diagnosed = await diagnoser.diagnoseAll(
    items.map((i) => ({ image: String(i.image ?? ''), cause: String(i.cause ?? ''), hint: String(i.hint ?? '') })),
    now,
  );
  return items.map((item, k) => {
    const d = diagnosed[k]!;
    return { ...item, cause: d.cause, suggestion: d.suggestion, evidence: d.evidence, hint: d.hint };
  });
}

/** Incidents name several images: the first one with a suggestion (or changed cause) speaks for the incident. */
export async function incidentsWithDiagnosis<T extends { images: string[]; cause: string }>(
  diagnoser: Diagnoser,
  incidents: T[],
  now: Date,
) {
  const flat = incidents.flatMap((inc, i) => inc.images.map((image) => ({ i, image, cause: inc.cause, hint: '' })));
  const diagnosed = await diagnoser.diagnoseAll(flat, now);
  // Each incident's diagnoses, in order (one pass, not a scan of all of them per incident).
  const byIncident = incidents.map((): Diagnosed[] => []);
  diagnosed.forEach((d, k) => {
    byIncident[flat[k]!.i]!.push(d);
  });
  return incidents.map((inc, i) => {
    const mine = byIncident[i]!;
    const best = mine.find((d) => d.suggestion) ?? mine.find((d) => d.evidence);
    return {
      ...inc,
      cause: best?.cause ?? inc.cause,
      suggestion: best?.suggestion ?? null,
      evidence: best?.evidence ?? null,
      hint: best?.hint || null,
    };
  });
}

/** The routes of the diagnosis issue: Docker Hub quota per egress and recovery times. */
export function diagnosisRoutes(deps: {
  queries: DiagnosisQueries;
  teams: TeamResolver;
  egress: EgressSettings;
  /** The share of the quota from which an egress is `near` (the dockerhub_quota rule's threshold). */
  nearShare: number;
  maxRangeDays: number;
}): Route[] {
  return [
    {
      path: '/v1/quota/docker-hub',
      summary:
        'Docker Hub pull quota per egress address (anonymous pulls; default one per cluster) and per account ' +
        '(authenticated pulls): used, remaining, rate and forecast exhaustion',
      query: QuotaQuery,
      response: QuotaResponse,
      handle: async (_q: z.infer<typeof QuotaQuery>, now: Date) => {
        const usage = await deps.queries.dockerHubActivity(deps.egress, now);
        const t = now.getTime();
        return {
          window: deps.egress.window.text,
          egresses: quotaByEgress(deps.egress, usage.nodes, t).map((q) => ({
            ...q,
            level: quotaLevel(q, deps.nearShare),
          })),
          accounts: quotaByAccount(deps.egress, usage.accounts, t).map((q) => ({
            ...q,
            level: accountLevel(q, deps.nearShare, t),
          })),
        };
      },
    },
    {
      path: '/v1/recovery',
      summary:
        'Time to recover per Pod (first failure → successful pull or start) and incident durations, ' +
        'p50/p90/max seconds per group, and Pods still stuck',
      query: RecoveryQuery,
      response: RecoveryResponse,
      handle: async (q: z.infer<typeof RecoveryQuery>, now: Date) => {
        const w = window(q, now, deps.maxRangeDays);
        // Pods still failing count whatever the window: the pulls of the last day up to now decide too.
        const teamPairs =
          q.team === undefined
            ? undefined
            : await deps.teams.pairs(q.team, {
                from: new Date(Math.min(w.from.getTime(), now.getTime() - NOW_LOOKBACK_MS)),
                to: new Date(Math.max(w.to.getTime(), now.getTime())),
              });
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          groupBy: q.groupBy,
          ...(await deps.queries.recovery({ ...q, ...w, teamPairs }, now)),
        };
      },
    },
  ];
}
