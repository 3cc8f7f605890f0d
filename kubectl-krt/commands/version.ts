// kubectl krt version: the plugin's version, the platform's (operator image tag) and Kubernetes'.
// `--client` is local: the cluster code and the YAML printer are imported only when used, so the
// plugin's quickest command loads little more than the flag parser.

import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { flagBoolean, flagString, OutputFormat, outputFlag } from '../flags.ts';
import type { Connection } from '../kube/connection.ts';
import { renderFields } from '../output/table.ts';
import { imageVersion, OPERATOR_DEPLOYMENTS, PLATFORM_NAMESPACE, versionSkew } from '../platform-version.ts';
import { buildInfo, CLIENT_VERSION } from '../version.ts';

interface Deployment {
  spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } };
}

interface PlatformVersion {
  /** The version, `not installed`, or `unknown`. */
  version: string;
  images: string[];
  problem?: string;
}

async function platformVersion(conn: Connection): Promise<PlatformVersion> {
  const [{ isNotFound }, { ForbiddenError }] = await Promise.all([
    import('../../lib/kube-client.ts'),
    import('../kube/connection.ts'),
  ]);
  const images: string[] = [];
  for (const name of OPERATOR_DEPLOYMENTS) {
    try {
      const d = await conn.client.get<Deployment>(
        `/apis/apps/v1/namespaces/${PLATFORM_NAMESPACE}/deployments/${name}`,
      );
      const image = d.spec?.template?.spec?.containers?.[0]?.image;
      if (image && !images.includes(image)) images.push(image);
    } catch (err) {
      if (isNotFound(err)) continue;
      if (err instanceof ForbiddenError) {
        return {
          version: 'unknown',
          images,
          problem: `you may not get deployments in namespace ${PLATFORM_NAMESPACE}`,
        };
      }
      throw err;
    }
  }
  if (images.length === 0) return { version: 'not installed', images };
  const versions = [...new Set(images.map((i) => imageVersion(i) ?? 'unknown'))];
  return { version: versions.join(', '), images };
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'show plugin, platform and Kubernetes versions',
  usage: 'version [flags]',
  description:
    "Print the plugin's version (with the commit and date it was built from), the kruntimes platform's (the image tag of the operator Deployments in kruntimes-system, or \"not installed\") and the Kubernetes API server's, and warn when plugin and platform differ in minor version.",
  examples: [{ comment: 'All versions', line: 'version' }],
  flags: {
    client: { type: 'boolean', description: "only the plugin's version; no cluster needed" },
    output: outputFlag([OutputFormat.Json, OutputFormat.Yaml]),
  },
  local: (args) => flagBoolean(args, 'client'),
  async run(ctx, args) {
    const output = flagString(args, 'output');
    const result: {
      clientVersion: string;
      clientCommit: string;
      clientBuildDate: string;
      platformVersion?: string;
      platformImages?: string[];
      kubernetesVersion?: string;
    } = {
      clientVersion: CLIENT_VERSION,
      clientCommit: buildInfo().commit,
      clientBuildDate: buildInfo().date,
    };
    let skew: string | undefined;
    if (!flagBoolean(args, 'client')) {
      const conn = await ctx.connection();
      const [platform, server] = await Promise.all([
        platformVersion(conn),
        conn.client.get<{ gitVersion?: string }>('/version'),
      ]);
      result.platformVersion = platform.version;
      result.platformImages = platform.images;
      result.kubernetesVersion = server.gitVersion;
      if (platform.problem) ctx.note(`platform version unknown: ${platform.problem}`);
      skew = versionSkew(CLIENT_VERSION, platform.version);
    }
    if (output === OutputFormat.Json || output === OutputFormat.Yaml) {
      const { toJson, toYaml } = await import('../output/print.ts');
      ctx.out(output === OutputFormat.Json ? toJson(result) : toYaml(result));
    } else {
      const fields: Array<[string, string]> = [
        ['Client Version', result.clientVersion],
        ['Client Commit', result.clientCommit],
        ['Client Build Date', result.clientBuildDate],
      ];
      if (result.platformVersion !== undefined) {
        const images = result.platformImages?.length ? ` (${result.platformImages.join(', ')})` : '';
        fields.push(['Platform Version', `${result.platformVersion}${images}`]);
        fields.push(['Kubernetes Version', result.kubernetesVersion ?? 'unknown']);
      }
      ctx.out(renderFields(fields));
    }
    if (skew) ctx.warn(skew);
    return ExitCode.Ok;
  },
};
