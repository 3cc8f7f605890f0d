import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import pkg from '../package.json' with { type: 'json' };
import { PLUGIN_TARGETS } from '../release/plugin-targets.ts';
import { KREW_API_VERSION, krewManifest, krewReleaseBotTemplate, SHORT_DESCRIPTION } from './krew-manifest.ts';

const sha = (i: number) => i.toString(16).padStart(2, '0').repeat(32);
const archives = PLUGIN_TARGETS.map((target, i) => ({ target, sha256: sha(i + 10) }));

interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
}

describe('krew manifest', () => {
  const doc = parse(krewManifest({ version: '1.2.3', repository: 'https://github.com/o/r', archives }));

  it('is a v1alpha2 Plugin named krt with version, descriptions and caveats', () => {
    assert.equal(doc.apiVersion, KREW_API_VERSION);
    assert.equal(doc.kind, 'Plugin');
    assert.equal(doc.metadata.name, 'krt');
    assert.equal(doc.spec.version, 'v1.2.3');
    assert.equal(doc.spec.homepage, 'https://github.com/o/r');
    assert.equal(doc.spec.shortDescription, SHORT_DESCRIPTION);
    assert.doesNotMatch(doc.spec.shortDescription, /\n/);
    assert.match(doc.spec.description, /kubectl krt run/);
    assert.match(doc.spec.caveats, /^ {2}kubectl krt install$/m);
  });

  it('has one platform per target with one os/arch selector, the release URI and lowercase sha256', () => {
    const platforms = doc.spec.platforms as Platform[];
    assert.deepEqual(
      platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`),
      ['linux/amd64', 'linux/arm64', 'darwin/amd64', 'darwin/arm64', 'windows/amd64'],
    );
    for (const [i, p] of platforms.entries()) {
      assert.deepEqual(Object.keys(p.selector.matchLabels).sort(), ['arch', 'os']);
      assert.equal(p.sha256, sha(i + 10));
      assert.equal(p.uri, `https://github.com/o/r/releases/download/v1.2.3/kubectl-krt_v1.2.3_${PLUGIN_TARGETS[i].platform}.tar.gz`);
    }
    assert.equal(platforms[4].bin, 'kubectl-krt.exe');
    assert.equal(platforms[0].bin, 'kubectl-krt');
  });

  it('refuses uppercase sha256 and missing platforms', () => {
    const upper = archives.map((a, i) => (i === 1 ? { ...a, sha256: a.sha256.toUpperCase().replace(/0/g, 'A') } : a));
    assert.throws(() => krewManifest({ version: '1.2.3', repository: 'r', archives: upper }), /sha256 of linux-arm64 must be 64 lowercase hex digits/);
    assert.throws(
      () => krewManifest({ version: '1.2.3', repository: 'r', archives: archives.slice(0, 1) }),
      /no archive built for linux-arm64, darwin-amd64, darwin-arm64, windows-amd64/,
    );
  });

  it('.krew.yaml is the release-bot template generated from the same description', () => {
    const committed = readFileSync(new URL('../.krew.yaml', import.meta.url), 'utf8');
    assert.equal(committed, krewReleaseBotTemplate(pkg.homepage), 'regenerate: node krew/krew-manifest.ts release-bot-template > .krew.yaml');
    assert.equal(committed.match(/\{\{addURIAndSha "[^"]+\/download\/\{\{ \.TagName \}\}\/kubectl-krt_\{\{ \.TagName \}\}_[a-z0-9-]+\.tar\.gz" \.TagName \}\}/g)?.length, 5);
  });
});
