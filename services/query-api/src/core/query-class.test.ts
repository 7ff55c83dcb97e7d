import { describe, expect, it } from 'vitest';
import { routeClass } from './query-class.ts';

const H = 3_600_000;

describe('routeClass', () => {
  it('puts report routes in the report class whatever the window', () => {
    expect(routeClass('/v1/reports/failures', H, 48 * H)).toBe('report');
    expect(routeClass('/v1/risks', null, 48 * H)).toBe('report');
  });
  it('puts long windows of dashboard routes in the report class', () => {
    expect(routeClass('/v1/trends', 30 * 24 * H, 48 * H)).toBe('report');
    expect(routeClass('/v1/hotspots/rate-limit', 48 * H + 1, 48 * H)).toBe('report');
    expect(routeClass('/v1/trends', 48 * H, 48 * H)).toBe('dashboard');
    expect(routeClass('/v1/registries', 24 * H, 48 * H)).toBe('dashboard');
    expect(routeClass('/v1/pods/stuck', null, 48 * H)).toBe('dashboard');
  });
});
