import { describe, expect, it } from 'vitest';
import { KubeApiError, resourceOfPath } from './list-watch.ts';

describe('the errors a list or watch reports', () => {
  it('names resources as RBAC does', () => {
    expect(resourceOfPath('/api/v1/pods')).toBe('pods');
    expect(resourceOfPath('/api/v1/namespaces')).toBe('namespaces');
    expect(resourceOfPath('/apis/events.k8s.io/v1/events')).toBe('events.events.k8s.io');
    expect(resourceOfPath('/api/v1/events?watch=true')).toBe('events');
  });

  it('names the verb, the resource, the status and what the server said', () => {
    const e = new KubeApiError('watch', '/api/v1/pods', 403, 'Forbidden', 'pods is forbidden: User "x" cannot watch');
    expect(e.message).toBe(
      'cannot watch pods: HTTP 403 Forbidden (the API server says: pods is forbidden: User "x" cannot watch)',
    );
    expect([e.verb, e.resource, e.status]).toEqual(['watch', 'pods', 403]);
    expect(new KubeApiError('list', '/api/v1/events', 500, null, '').message).toBe('cannot list events: HTTP 500');
  });
});
