// Kubernetes object names as the apiserver validates them. Checked where a name from outside (an
// HTTP path, a flag) is put into an API path, so that `..`, `/` or `?` in it can never turn the
// request into one for another resource.

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const DNS_LABEL_ONLY = new RegExp(`^${DNS_LABEL}$`);

/** A name of a namespaced object such as a Run (RFC 1123 subdomain, at most 253 characters). */
export function isObjectName(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

/** A namespace name (RFC 1123 label, at most 63 characters). */
export function isNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS_LABEL_ONLY.test(name);
}
