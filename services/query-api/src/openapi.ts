import { z } from 'zod';
import type { Route } from './route.ts';

/** OpenAPI 3.1 from the same zod schemas that validate the requests. */
export function openApi(routes: Route[]) {
  const paths: Record<string, unknown> = {};
  for (const r of routes) {
    const schema = z.toJSONSchema(r.query, { io: 'input' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    paths[r.path] = {
      get: {
        summary: r.summary,
        security: [{ bearer: [] }],
        parameters: Object.entries(schema.properties ?? {}).map(([name, s]) => ({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          schema: s,
        })),
        responses: {
          '200': {
            description: 'OK',
            content: {
              'application/json': {
                schema: r.response ? z.toJSONSchema(r.response, { io: 'output' }) : { type: 'object' },
              },
              ...(r.csv ? { 'text/csv': { schema: { type: 'string' } } } : {}),
            },
          },
          '400': { $ref: '#/components/responses/Error' },
          '401': { $ref: '#/components/responses/Error' },
          ...(r.path.startsWith('/v1/reports/') ? { '422': { $ref: '#/components/responses/Error' } } : {}),
          '429': { $ref: '#/components/responses/Error' },
          '503': { $ref: '#/components/responses/Error' },
          '504': { $ref: '#/components/responses/Error' },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'pullwatch query API', version: '1' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'Error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: { code: { type: 'string' }, message: { type: 'string' } },
                    required: ['code', 'message'],
                  },
                },
                required: ['error'],
              },
            },
          },
        },
      },
    },
  };
}
