// docs/examples without a cluster: each Run, Runtime and Workflow passes the checks the CLI makes
// (lib/validation.ts, the CRDs' rules in code; for Workflows also the controller's, in
// lib/workflow-expressions.ts), and the Usage Guide shows the Workflow example verbatim. The apiserver itself accepts every example in test/e2e/crd-validation.e2e.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { API_VERSION, type RunSpec, type RuntimeSpec, type WorkflowSpec } from '../../lib/api.ts';
import { validateRunSpec, validateRuntimeSpec, validateWorkflowSpec } from '../../lib/validation.ts';
import { checkWorkflow } from '../../lib/workflow-expressions.ts';

const DOCS = path.resolve(import.meta.dirname, '../../docs');
const EXAMPLES = path.join(DOCS, 'examples');

interface Example {
  file: string;
  kind: string;
  metadata: { name?: string };
  spec: unknown;
}

const examples: Example[] = fs
  .readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')).map((d) => ({ file, ...(d.toJS() as Omit<Example, 'file'>) })),
  )
  .filter((o) => (o as unknown as { apiVersion?: string }).apiVersion === API_VERSION);

/** The YAML blocks of a Markdown page, parsed. */
const yamlBlocks = (page: string) =>
  [...fs.readFileSync(path.join(DOCS, page), 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => YAML.parse(m[1]));

describe('docs/examples', () => {
  it('holds the Usage Guide Workflow', () => {
    assert.ok(examples.some((e) => e.kind === 'Workflow' && e.metadata.name === 'ci'));
  });

  for (const e of examples) {
    it(`${e.file}: ${e.kind} ${e.metadata.name} passes validation`, () => {
      const errors =
        e.kind === 'Run'
          ? validateRunSpec(e.spec as RunSpec)
          : e.kind === 'Runtime'
            ? validateRuntimeSpec(e.spec as RuntimeSpec, e.metadata.name)
            : e.kind === 'Workflow'
              ? [...validateWorkflowSpec(e.spec as WorkflowSpec), ...checkWorkflow(e.spec as WorkflowSpec)]
              : [`unknown kind ${e.kind}`];
      assert.deepEqual(errors, []);
    });
  }

  it('docs/usage.md shows each Workflow example as it is in docs/examples', () => {
    const shown = yamlBlocks('usage.md').filter((b) => b?.kind === 'Workflow');
    for (const e of examples.filter((x) => x.kind === 'Workflow')) {
      const { file: _f, ...object } = e;
      assert.ok(
        shown.some((b) => JSON.stringify(b) === JSON.stringify(object)),
        `docs/usage.md has no block equal to ${e.file}`,
      );
    }
  });
});
