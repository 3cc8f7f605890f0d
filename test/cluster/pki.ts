// Certificates and keys of the local cluster, made with Debian's openssl: one CA signs the
// apiserver's serving cert, the admin client cert (system:masters), the front-proxy client cert
// and the node agent's serving cert; a separate key pair signs service-account tokens.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { ClusterPaths } from './config.ts';
import { Network, NODE_NAME } from './config.ts';

const run = promisify(execFile);
const DAYS = '3650';
/** ECDSA P-256 keys: generated in milliseconds where RSA-2048 takes most of a cold `up`'s first second. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] as const;
export const FRONT_PROXY_CN = 'front-proxy-client';

/** Names clients dial the apiserver by: host, pods (bridge gateway), the service name and its ClusterIP. */
export const APISERVER_SANS = [
  'IP:127.0.0.1',
  `IP:${Network.gateway}`,
  'IP:10.96.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
] as const;

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function signedCert(
  paths: ClusterPaths,
  out: { cert: string; key: string },
  subject: string,
  extensions: string[],
): Promise<void> {
  await openssl([
    'req',
    '-x509',
    ...NEW_KEY,
    '-nodes',
    '-days',
    DAYS,
    '-subj',
    subject,
    '-CA',
    paths.ca.cert,
    '-CAkey',
    paths.ca.key,
    '-keyout',
    out.key,
    '-out',
    out.cert,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
}

/** Creates whatever part of the PKI is missing; existing files are kept so restarts reuse them. */
export async function ensurePki(paths: ClusterPaths): Promise<void> {
  fs.mkdirSync(paths.pki, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(paths.ca.cert)) {
    await openssl([
      'req',
      '-x509',
      ...NEW_KEY,
      '-nodes',
      '-days',
      DAYS,
      '-subj',
      '/CN=krt-ca',
      '-keyout',
      paths.ca.key,
      '-out',
      paths.ca.cert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    // A new CA invalidates every leaf signed by an old one.
    for (const f of [paths.apiserver.cert, paths.admin.cert, paths.kubelet.cert, paths.frontProxy.cert])
      fs.rmSync(f, { force: true });
  }
  const leaves: Promise<void>[] = [];
  if (!fs.existsSync(paths.apiserver.cert)) {
    leaves.push(
      signedCert(paths, paths.apiserver, '/CN=kube-apiserver', [
        `subjectAltName=${APISERVER_SANS.join(',')}`,
        'extendedKeyUsage=serverAuth',
        'basicConstraints=critical,CA:FALSE',
      ]),
    );
  }
  if (!fs.existsSync(paths.admin.cert)) {
    leaves.push(
      signedCert(paths, paths.admin, '/O=system:masters/CN=krt-admin', [
        'extendedKeyUsage=clientAuth',
        'basicConstraints=critical,CA:FALSE',
      ]),
    );
  }
  if (!fs.existsSync(paths.frontProxy.cert)) {
    // The apiserver's identity towards aggregated API servers (request-header authentication).
    leaves.push(
      signedCert(paths, paths.frontProxy, `/CN=${FRONT_PROXY_CN}`, [
        'extendedKeyUsage=clientAuth',
        'basicConstraints=critical,CA:FALSE',
      ]),
    );
  }
  if (!fs.existsSync(paths.kubelet.cert)) {
    leaves.push(
      signedCert(paths, paths.kubelet, `/CN=${NODE_NAME}`, [
        `subjectAltName=IP:${Network.nodeIP},DNS:localhost,DNS:${NODE_NAME}`,
        'extendedKeyUsage=serverAuth',
        'basicConstraints=critical,CA:FALSE',
      ]),
    );
  }
  if (!fs.existsSync(paths.serviceAccount.pub)) {
    leaves.push(
      (async () => {
        // Service-account tokens are then signed ES256.
        await openssl([
          'ecparam',
          '-name',
          'prime256v1',
          '-genkey',
          '-noout',
          '-out',
          paths.serviceAccount.key,
        ]);
        await openssl(['ec', '-in', paths.serviceAccount.key, '-pubout', '-out', paths.serviceAccount.pub]);
      })(),
    );
  }
  await Promise.all(leaves);
}
