import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dashboard's own static files. */
export const dashboardDir = join(dirname(fileURLToPath(import.meta.url)), '../public');

/**
 * What the query API serves for the dashboard, each with `express.static(dir)` under `path`
 * (the page at `/`, and browser builds of its libraries from node_modules).
 */
export const dashboardRoutes: { path: string; dir: string }[] = [{ path: '/', dir: dashboardDir }];

/**
 * The Content-Security-Policy the dashboard is served with: its own script, stylesheet and API only,
 * no inline code or styles (the page sets styles through the CSSOM), never framed.
 */
export const dashboardCsp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
