import assert from 'node:assert/strict';
import {
  changelogProblems,
  chartVersionProblems,
  crdProblems,
  dockerfileProblems,
  formatProblem,
  imageTagProblems,
  krewProblems,
  outputTail,
} from './preflight-checks.ts';

const fixes = (ps: Array<{ fix: string }>) => ps.map((p) => p.fix);

describe('release preflight checks', () => {
  describe('chartVersionProblems', () => {
    it('passes a chart whose version and appVersion are the package version', () => {
      assert.deepEqual(chartVersionProblems('c/Chart.yaml', 'name: x\nversion: 1.2.3\nappVersion: "1.2.3"\n', '1.2.3'), []);
    });
    it('names each field that differs or is missing, and says to run charts:sync', () => {
      const ps = chartVersionProblems('c/Chart.yaml', 'version: 1.2.2\n', '1.2.3');
      assert.deepEqual(fixes(ps), [
        "version is 1.2.2, not package.json's 1.2.3: run npm run charts:sync",
        "appVersion is (missing), not package.json's 1.2.3: run npm run charts:sync",
      ]);
      assert.equal(ps[0].file, 'c/Chart.yaml');
    });
  });

  describe('imageTagProblems', () => {
    const images = ['kruntimes-operator', 'kruntimes-runtimed'];
    it("flags each of the project's images with another tag, by line", () => {
      const text = 'image: kruntimes-operator:1.2.3\n  value: kruntimes-runtimed:1.0.0\nnamespace: kruntimes-system\nimage: other:9\n';
      assert.deepEqual(fixes(imageTagProblems('manifests/platform/a.yaml', text, '1.2.3', images)), [
        'line 2: image kruntimes-runtimed:1.0.0 is not tagged 1.2.3: set it to kruntimes-runtimed:1.2.3',
      ]);
    });
    it('tells chart values to run charts:sync', () => {
      assert.match(imageTagProblems('charts/x/values.yaml', 'image: kruntimes-operator:0.9.0', '1.2.3', images)[0].fix, /npm run charts:sync$/);
    });
    it('ignores names that are not image references', () => {
      assert.deepEqual(imageTagProblems('f', 'app: kruntimes-operator\nkruntimes-operator: {}\n', '1.2.3', images), []);
    });
  });

  describe('krewProblems', () => {
    const manifest = (v: string) => `spec:\n  version: ${v}\n  platforms:\n  - uri: https://h/releases/download/${v}/kubectl-krt_${v}_linux-amd64.tar.gz\n`;
    it('passes a generated template and no or a current krew/krt.yaml', () => {
      assert.deepEqual(krewProblems({ version: '1.2.3', template: 't', expectedTemplate: 't' }), []);
      assert.deepEqual(krewProblems({ version: '1.2.3', template: 't', expectedTemplate: 't', manifest: manifest('v1.2.3') }), []);
    });
    it('flags a missing or hand-edited .krew.yaml and a krew/krt.yaml for another version', () => {
      assert.deepEqual(krewProblems({ version: '1.2.3', expectedTemplate: 't' }).map((p) => p.file), ['.krew.yaml']);
      const ps = krewProblems({ version: '1.2.3', template: 'edited', expectedTemplate: 't', manifest: manifest('v1.2.2') });
      assert.deepEqual(ps.map((p) => p.file), ['.krew.yaml', 'krew/krt.yaml']);
      assert.match(ps[1].fix, /is for v1\.2\.2, not v1\.2\.3: run npm run package/);
    });
  });

  describe('changelogProblems', () => {
    const log = (...sections: string[]) => `# Changelog\n\nIntro.\n\n${sections.join('\n')}`;
    it('passes a dated section with entries and an empty [Unreleased]', () => {
      assert.deepEqual(changelogProblems(log('## [Unreleased]\n', '## [1.2.3] - 2026-12-03\n\n### Added\n\n- a thing\n', '## [1.2.2] - 2026-11-01\n- old\n'), '1.2.3'), []);
    });
    it('asks to rename [Unreleased] when the version has no section but [Unreleased] has entries', () => {
      assert.deepEqual(fixes(changelogProblems(log('## [Unreleased]\n- new\n', '## [1.2.2] - 2026-11-01\n- old\n'), '1.2.3')), [
        'no section for 1.2.3: rename [Unreleased] to "## [1.2.3] - YYYY-MM-DD" (and start a new empty [Unreleased])',
      ]);
    });
    it('asks to add a section when there is nothing to release', () => {
      assert.match(changelogProblems(log('## [Unreleased]\n'), '1.2.3')[0].fix, /^no section for 1\.2\.3: add/);
    });
    it('flags an undated or empty section and entries left in [Unreleased]', () => {
      assert.deepEqual(fixes(changelogProblems(log('## [Unreleased]\n- new\n- newer\n', '## [1.2.3] - unreleased\n'), '1.2.3')), [
        'the 1.2.3 heading "## [1.2.3] - unreleased" has no release date: write "## [1.2.3] - YYYY-MM-DD" when tagging',
        'the 1.2.3 section lists no changes: add them (they become the release notes)',
        "[Unreleased] lists 2 change(s) that a 1.2.3 build includes but its notes do not: move them under [1.2.3], or bump package.json's version",
      ]);
    });
    it('does not take [1.2.30] for [1.2.3]', () => {
      assert.match(changelogProblems(log('## [1.2.30] - 2026-01-01\n- x\n'), '1.2.3')[0].fix, /^no section for 1\.2\.3/);
    });
  });

  describe('crdProblems', () => {
    const plan = [
      { path: 'charts/kruntimes/crds/a.yaml', expected: 'A' },
      { path: 'charts/kruntimes/crds/b.yaml', expected: 'B' },
      { path: 'charts/kruntimes/crds/c.yaml', expected: 'C' },
      { path: 'charts/kruntimes/Chart.yaml', expected: 'other' },
    ];
    it('checks only the CRD copies: drifted, missing and stale ones', () => {
      const files: Record<string, string> = { 'charts/kruntimes/crds/a.yaml': 'A', 'charts/kruntimes/crds/b.yaml': 'B2', 'charts/kruntimes/Chart.yaml': 'x' };
      assert.deepEqual(crdProblems(plan, (p) => files[p], ['charts/kruntimes/crds/old.yaml']).map(formatProblem), [
        'charts/kruntimes/crds/b.yaml: differs from manifests/crds/b.yaml: run npm run charts:sync',
        'charts/kruntimes/crds/c.yaml: missing copy of manifests/crds/c.yaml: run npm run charts:sync',
        'charts/kruntimes/crds/old.yaml: has no source in manifests/crds: run npm run charts:sync (removes it)',
      ]);
    });
  });

  describe('dockerfileProblems', () => {
    it("reports dockerfile-utils' diagnostics with line numbers", () => {
      assert.deepEqual(dockerfileProblems('images/x/Dockerfile', 'FROM node:22\nUSER 1000:1000\n'), []);
      const ps = dockerfileProblems('images/x/Dockerfile', 'FROM node:22\nEXPOSE abc\n');
      assert.equal(ps.length, 1);
      assert.match(ps[0].fix, /^line 2: /);
    });
  });

  it('outputTail keeps the last non-empty lines; formatProblem indents the detail', () => {
    assert.equal(outputTail('a\n\nb\nc\n\n', 2), 'b\nc');
    assert.equal(formatProblem({ file: 'npm run lint', fix: 'failed', detail: 'x\ny' }), 'npm run lint: failed\n    x\n    y');
  });
});
