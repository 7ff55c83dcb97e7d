import type { z } from 'zod';
import { Filters, Window } from '../params.ts';
import { type Route, type WindowDeps, windowed } from '../route.ts';
import type { RegistryQueries } from './queries.ts';

export const RegistriesQuery = Window.extend(
  Filters.pick({ cluster: true, namespace: true, cause: true, team: true }).shape,
).strict();

/** GET /v1/registries. */
export function registryRoutes(deps: WindowDeps & { queries: RegistryQueries }): Route[] {
  return [
    {
      path: '/v1/registries',
      summary: 'Per-registry failures, successes and failure rate',
      query: RegistriesQuery,
      handle: async (q: z.infer<typeof RegistriesQuery>, now) => {
        const w = await windowed(deps, q, now);
        return {
          from: w.from.toISOString(),
          to: w.to.toISOString(),
          registries: await deps.queries.registries({ ...q, ...w }),
        };
      },
    },
  ];
}
