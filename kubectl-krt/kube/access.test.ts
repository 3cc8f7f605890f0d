import assert from 'node:assert/strict';
import { accessForRequest, forbiddenSentence, resourceLabel, verbList } from './access.ts';

describe('accessForRequest', () => {
  it('maps kruntimes and core requests to RBAC attributes', () => {
    assert.deepEqual(accessForRequest('POST', '/apis/kruntimes.io/v1alpha1/namespaces/dev/runs'), {
      verbs: ['create'],
      group: 'kruntimes.io',
      resource: 'runs',
      namespace: 'dev',
    });
    assert.deepEqual(accessForRequest('GET', '/apis/kruntimes.io/v1alpha1/namespaces/dev/runs/hello'), {
      verbs: ['get'],
      group: 'kruntimes.io',
      resource: 'runs',
      namespace: 'dev',
      name: 'hello',
    });
    assert.deepEqual(accessForRequest('PATCH', '/apis/kruntimes.io/v1alpha1/namespaces/dev/runs/hello'), {
      verbs: ['patch'],
      group: 'kruntimes.io',
      resource: 'runs',
      namespace: 'dev',
      name: 'hello',
    });
    assert.deepEqual(accessForRequest('GET', '/api/v1/namespaces/dev/pods/p1/log?container=runtimed'), {
      verbs: ['get'],
      group: '',
      resource: 'pods',
      subresource: 'log',
      namespace: 'dev',
      name: 'p1',
    });
    assert.deepEqual(accessForRequest('GET', '/apis/kruntimes.io/v1alpha1/runs'), {
      verbs: ['list'],
      group: 'kruntimes.io',
      resource: 'runs',
    });
  });
  it('tells watch from list and delete from deletecollection', () => {
    assert.deepEqual(accessForRequest('GET', '/api/v1/namespaces/dev/events', { watch: true })?.verbs, [
      'watch',
    ]);
    assert.deepEqual(accessForRequest('GET', '/api/v1/namespaces/dev/events?watch=true')?.verbs, ['watch']);
    assert.deepEqual(accessForRequest('DELETE', '/api/v1/namespaces/dev/pods')?.verbs, ['deletecollection']);
  });
  it('has nothing to say about non-resource paths', () => {
    assert.equal(accessForRequest('GET', '/version'), undefined);
    assert.equal(accessForRequest('GET', '/apis/kruntimes.io/v1alpha1'), undefined);
  });
});

describe('forbiddenSentence', () => {
  it('names the permission, the namespace and the grant that fixes it', () => {
    assert.equal(
      forbiddenSentence(
        {
          verbs: ['get', 'create'],
          group: '',
          resource: 'pods',
          subresource: 'portforward',
          namespace: 'dev',
        },
        ['create'],
        'to read the Run log from runtimed',
      ),
      'you may not create pods/portforward in namespace dev (to read the Run log from runtimed): ask your cluster administrator for a Role in namespace dev that grants "get" and "create" on apiGroups [""] resources ["pods/portforward"]',
    );
    assert.match(
      forbiddenSentence({ verbs: ['list'], group: 'kruntimes.io', resource: 'runs' }, []),
      /^you may not list runs.kruntimes.io across all namespaces: .* a ClusterRole that grants "list" on apiGroups \["kruntimes.io"\] resources \["runs"\]$/,
    );
  });
  it('labels resources and lists verbs', () => {
    assert.equal(
      resourceLabel({ group: 'kruntimes.io', resource: 'runs', subresource: 'status' }),
      'runs.kruntimes.io/status',
    );
    assert.equal(verbList(['get', 'list', 'watch']), 'get, list or watch');
  });
});
