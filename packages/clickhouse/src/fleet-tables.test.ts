import { describe, expect, it } from 'vitest';
import { FleetTables } from './fleet-tables.ts';

describe('FleetTables', () => {
  it('reads the tables themselves on one server and their _all tables on a cluster', () => {
    expect(new FleetTables('pw').read('pull_events')).toBe('pw.pull_events');
    expect(new FleetTables('pw', 'fleet').read('pull_events')).toBe('pw.pull_events_all');
    expect(new FleetTables('pw', 'fleet').local('pull_events')).toBe('pw.pull_events');
  });
});
