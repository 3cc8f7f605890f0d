// What an API request asks permission for, in RBAC terms: the verb, resource and namespace that a
// SelfSubjectAccessReview checks when the apiserver answers 403.

export interface Access {
  /** RBAC verbs, any of which would be needed; usually one. */
  verbs: readonly string[];
  /** API group: '' for core. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const VERB_OF_METHOD = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
} as const;

/**
 * The access an API request needs, from its method and path (`/api/v1/…` or `/apis/group/version/…`).
 * Undefined for non-resource paths such as /version.
 */
export function accessForRequest(
  method: string,
  path: string,
  query: Record<string, unknown> = {},
): Access | undefined {
  const [pathOnly, search] = path.split('?', 2);
  const params = new URLSearchParams(search ?? '');
  const watch = query.watch === true || query.watch === 'true' || params.get('watch') === 'true';
  const parts = pathOnly.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    rest = parts.slice(3);
  } else return undefined;

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  if (!resource) return undefined;
  const m = method.toUpperCase();
  let verb: string;
  if (m === 'GET') verb = watch ? 'watch' : name ? 'get' : 'list';
  else if (m === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = VERB_OF_METHOD[m as keyof typeof VERB_OF_METHOD] ?? m.toLowerCase();
  return {
    verbs: [verb],
    group,
    resource,
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/** `pods/portforward`, `runs.kruntimes.io`, `runs.kruntimes.io/status`: how RBAC rules name it. */
export function resourceLabel(access: Pick<Access, 'group' | 'resource' | 'subresource'>): string {
  const base = access.group ? `${access.resource}.${access.group}` : access.resource;
  return access.subresource ? `${base}/${access.subresource}` : base;
}

/** "get or create" */
export function verbList(verbs: readonly string[]): string {
  return verbs.length <= 1
    ? (verbs[0] ?? '')
    : `${verbs.slice(0, -1).join(', ')} or ${verbs[verbs.length - 1]}`;
}

/**
 * The sentence for a request RBAC refused: what was denied, where, and which grant fixes it.
 * `denied` are the verbs a SelfSubjectAccessReview confirmed as denied (all of access.verbs when
 * it could not be checked); `purpose` says what the permission is for.
 */
export function forbiddenSentence(access: Access, denied: readonly string[], purpose?: string): string {
  const what = resourceLabel(access);
  const where = access.namespace ? `in namespace ${access.namespace}` : 'across all namespaces';
  const why = purpose ? ` (${purpose})` : '';
  const grant = access.verbs.map((v) => `"${v}"`).join(' and ');
  const holder = access.namespace ? `a Role in namespace ${access.namespace}` : 'a ClusterRole';
  const group = access.group ? `apiGroups ["${access.group}"]` : 'apiGroups [""]';
  const resource = access.subresource ? `${access.resource}/${access.subresource}` : access.resource;
  return `you may not ${verbList(denied.length > 0 ? denied : access.verbs)} ${what} ${where}${why}: ask your cluster administrator for ${holder} that grants ${grant} on ${group} resources ["${resource}"]`;
}
