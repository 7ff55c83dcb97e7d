import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dashboard's own static files. */
export const dashboardDir = join(dirname(fileURLToPath(import.meta.url)), '../public');

/**
 * What the query API serves for the dashboard, each with `express.static(dir)` under `path`
 * (the page at `/`, and browser builds of its libraries from node_modules).
 */
export const dashboardRoutes: { path: string; dir: string }[] = [{ path: '/', dir: dashboardDir }];
