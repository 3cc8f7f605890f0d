// The node's HTTPS endpoint that the apiserver proxies to (`status.daemonEndpoints`): container
// logs and port-forward. Clients must present a certificate of the cluster CA (the apiserver's
// kubelet client certificate).
import fs from 'node:fs';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ClusterPaths } from '../config.ts';
import { Network, Ports } from '../config.ts';
import { errorText, log } from './agent-log.ts';
import { serveContainerLogs } from './container-logs.ts';
import type { PodManager } from './pod-manager.ts';
import { handleWebSocketPortForward, isWebSocketUpgrade, parsePorts } from './port-forward.ts';
import { handleSpdyPortForward, isSpdyUpgrade } from './spdy-port-forward.ts';

const LOGS = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/;
const PORT_FORWARD = /^\/portForward\/([^/]+)\/([^/]+)(?:\/([^/]+))?\/?$/;
const UNSUPPORTED = /^\/(exec|attach|run|runningpods|logs|stats|metrics|pods|checkpoint)(\/|$)/;

export function startKubeletServer(paths: ClusterPaths, pods: PodManager): Promise<https.Server> {
  const server = https.createServer({
    key: fs.readFileSync(paths.kubelet.key),
    cert: fs.readFileSync(paths.kubelet.cert),
    ca: fs.readFileSync(paths.ca.cert),
    requestCert: true,
    rejectUnauthorized: true,
  });

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://node');
    const path = decodeURIComponent(url.pathname);
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    const logs = LOGS.exec(url.pathname);
    if (logs && req.method === 'GET') {
      const [ns, name, container] = logs.slice(1).map(decodeURIComponent);
      const worker = pods.find(ns, name);
      if (!worker) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`pod ${ns}/${name} not found on this node`);
        return;
      }
      log('logs', { pod: `${ns}/${name}`, container, query: url.search });
      serveContainerLogs(worker, container, url.searchParams, req, res).catch((err) => {
        log('logs.error', { pod: `${ns}/${name}`, error: errorText(err) });
        if (!res.headersSent) res.writeHead(500).end(errorText(err));
        else res.end();
      });
      return;
    }
    if (PORT_FORWARD.test(url.pathname)) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Upgrade request required');
      return;
    }
    const status = UNSUPPORTED.test(url.pathname) ? 501 : 404;
    res
      .writeHead(status, { 'Content-Type': 'text/plain' })
      .end(status === 501 ? `${url.pathname} is not supported by the kruntimes local node` : 'not found');
  });

  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://node');
    const m = PORT_FORWARD.exec(url.pathname);
    const refuse = (code: number, message: string) => {
      socket.end(
        `HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}`,
      );
    };
    if (!m) return refuse(404, 'not found');
    const [ns, name, uid] = m.slice(1).map((s) => (s === undefined ? undefined : decodeURIComponent(s)));
    const worker = pods.find(ns!, name!, uid);
    if (!worker?.podIP) return refuse(404, `pod ${ns}/${name} not found or has no IP`);
    const target = {
      podName: name!,
      podUid: worker.uid,
      host: worker.pod.spec?.hostNetwork ? Network.nodeIP : worker.podIP,
    };
    log('portforward', { pod: `${ns}/${name}`, query: url.search, protocol: req.headers.upgrade });
    if (isWebSocketUpgrade(req)) {
      let ports: number[];
      try {
        ports = parsePorts(url.searchParams);
      } catch (err) {
        return refuse(400, errorText(err));
      }
      handleWebSocketPortForward(req, socket, head, ports, target);
    } else if (isSpdyUpgrade(req)) {
      handleSpdyPortForward(req, socket, head, target);
    } else refuse(400, 'unsupported upgrade protocol');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Ports.kubelet, Network.nodeIP, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
