// Property-based bad input against the real apiserver (fast-check, bounded case counts):
// - every generated Run spec is accepted exactly when lib/validation.ts accepts it, and every
//   rejection names the offending field;
// - every accepted Run reaches a terminal phase, with the outcome its workload calls for, however
//   hostile its outputs file (binary, thousands of lines, invalid UTF-8, a link out of the workspace);
// - generated Runtime specs likewise (server-side dry run: nothing is created).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isTerminal, Reason, type Run, type RunSpec, RunPhase, type RuntimeSpec } from '../../lib/api.ts';
import { KubeApiError, type KubeClient, Paths } from '../../lib/kube-client.ts';
import { validateRunSpec, validateRuntimeSpec } from '../../lib/validation.ts';
import {
  applyYaml,
  createNamespace,
  deleteNamespace,
  setupPlatform,
  waitFor,
  waitForRuntimeReady,
  waitForSchedulable,
} from '../support/platform.ts';

const SEED = Number(process.env.KRT_PROPERTY_SEED ?? 20261123);

/** What an accepted Run's script does, and how the Run must end. */
const Behaviour = {
  ok: { script: 'echo ok; echo "result=ok" >> "$KRUNTIME_OUTPUTS"', phase: RunPhase.Succeeded, reason: Reason.Completed },
  exit3: { script: 'echo failing >&2; exit 3', phase: RunPhase.Failed, reason: Reason.Failed },
  binaryOutputs: {
    script: 'head -c 2048 /dev/urandom >> "$KRUNTIME_OUTPUTS"; printf "k=\\000\\377\\n" >> "$KRUNTIME_OUTPUTS"',
    phase: RunPhase.Failed,
    reason: Reason.OutputsInvalid,
  },
  manyLines: {
    script: 'for i in $(seq 1 5000); do echo "key$i=value$i"; done >> "$KRUNTIME_OUTPUTS"',
    phase: RunPhase.Failed,
    reason: Reason.OutputsTooLarge,
  },
  invalidUtf8: { script: 'printf "a=\\303\\050\\n" >> "$KRUNTIME_OUTPUTS"', phase: RunPhase.Failed, reason: Reason.OutputsInvalid },
  // runtimed's own API token: a link the workload plants must never be followed.
  linkOut: {
    script: 'rm -f "$KRUNTIME_OUTPUTS"; ln -s /var/run/secrets/kubernetes.io/serviceaccount/token "$KRUNTIME_OUTPUTS"',
    phase: RunPhase.Failed,
    reason: Reason.OutputsInvalid,
  },
  linkDirOut: {
    script: 'd=$(dirname "$KRUNTIME_OUTPUTS"); rm -rf "$d"; ln -s /etc "$d"',
    phase: RunPhase.Failed,
    reason: Reason.OutputsInvalid,
  },
  slow: { script: 'sleep 4', phase: RunPhase.Timeout, reason: Reason.Timeout },
} as const;
type BehaviourName = keyof typeof Behaviour;

interface Case {
  spec: RunSpec & Record<string, unknown>;
  behaviour: BehaviourName;
  unknownField?: string;
}

const validEntrypoint = fc.constantFrom('script', './script', 'dir/sub/run.sh', '..hidden', 'a..b/c', 'with space.sh');
const badEntrypoint = fc.constantFrom('../x', 'a/../../x', '..', '/abs/script', '/etc/passwd', 'a\u0000b', '');
const validEnvName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);
const badEnvName = fc.constantFrom('1X', 'A-B', 'a b', 'é', 'X=Y', '');
const bigInts = fc.constantFrom(-1, 0, 604801, 2 ** 31, 2 ** 53, 1.5);

function runCase(): fc.Arbitrary<Case> {
  return fc
    .record({
      runtime: fc.oneof(
        { weight: 19, arbitrary: fc.constant('bash') },
        { weight: 1, arbitrary: fc.constantFrom('Bad_Name', '-a', 'x'.repeat(64)) },
      ),
      behaviour: fc.constantFrom(...(Object.keys(Behaviour) as BehaviourName[])),
      entrypoint: fc.oneof({ weight: 12, arbitrary: validEntrypoint }, { weight: 1, arbitrary: badEntrypoint }),
      env: fc.option(
        fc.dictionary(
          fc.oneof({ weight: 12, arbitrary: validEnvName }, { weight: 1, arbitrary: badEnvName }),
          fc.string({ maxLength: 20 }),
          { maxKeys: 4 },
        ),
        { nil: undefined },
      ),
      manyEnv: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      timeout: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 604800 }) },
        { weight: 1, arbitrary: bigInts },
      ),
      retry: fc.oneof(
        { weight: 12, arbitrary: fc.record({ maxAttempts: fc.integer({ min: 1, max: 3 }), backoffSeconds: fc.constant(0) }) },
        {
          weight: 1,
          arbitrary: fc.record({ maxAttempts: fc.constantFrom(0, 101, -5), backoffSeconds: fc.constantFrom(0, -1, 3601) }),
        },
      ),
      huge: fc.constantFrom(...Array<string>(12).fill('none'), 'atLimit', 'overLimit', 'manyArgs', 'longArg'),
      unknownField: fc.oneof(
        { weight: 14, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('bogus', 'timeout', 'retrypolicy') },
      ),
    })
    .map((g) => {
      let inline = `${Behaviour[g.behaviour].script}\n`;
      if (g.huge === 'atLimit') inline = `${'#'.repeat(1000)}\n`.repeat(260) + inline; // 256 KiB − a little
      if (g.huge === 'overLimit') inline = 'x'.repeat(262_145);
      const spec: Case['spec'] = {
        runtime: g.runtime,
        entrypoint: g.entrypoint,
        source: { inline },
        retryPolicy: g.retry,
      };
      if (g.env) spec.env = g.env;
      if (g.manyEnv) spec.env = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`E${i}`, 'v']));
      if (g.huge === 'manyArgs') spec.args = Array.from({ length: 257 }, () => 'a');
      if (g.huge === 'longArg') spec.args = ['x'.repeat(32_769)];
      // The slow script times out only with a short deadline; any other deadline must not matter.
      if (g.behaviour === 'slow') spec.timeoutSeconds = 1;
      else if (g.timeout !== undefined) spec.timeoutSeconds = g.timeout;
      if (g.unknownField) spec[g.unknownField] = 1;
      return { spec, behaviour: g.behaviour, unknownField: g.unknownField };
    });
}

/** The fields a refusal names: the causes' fields, or the field in a strict-decoding message. */
function namedFields(err: KubeApiError): string[] {
  const causes = (err.details as { causes?: Array<{ field?: string; message?: string }> } | undefined)?.causes ?? [];
  // The apiserver adds a field-less note when it skipped CEL rules because the schema already failed.
  return causes
    .filter((c) => !/some validation rules were not checked/.test(c.message ?? ''))
    .map((c) => c.field ?? '');
}

describe('properties: bad input is refused by field, accepted input always ends', function () {
  this.timeout(240_000);
  let client: KubeClient;
  let ns: string;
  const accepted: Array<{ name: string; c: Case }> = [];
  let counter = 0;

  before(async () => {
    ({ client } = await setupPlatform());
    ns = await createNamespace('e2e-props');
    await applyYaml(ns, readFileSync(new URL('../../docs/examples/runtime-bash.yaml', import.meta.url), 'utf8'));
    await waitForRuntimeReady(client, ns, 'bash');
    await waitForSchedulable(ns, 'bash', 2);
  });
  after(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('a Run spec is accepted exactly when lib/validation.ts accepts it; a refusal names the field', async () => {
    await fc.assert(
      fc.asyncProperty(runCase(), async (c) => {
        const name = `p-${(counter++).toString(36)}`;
        const local = validateRunSpec(c.spec);
        let refused: KubeApiError | undefined;
        try {
          await client.create(
            Paths.runs(ns),
            { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Run', metadata: { name }, spec: c.spec },
            { query: { fieldValidation: 'Strict' } },
          );
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          refused = err;
        }
        if (c.unknownField) {
          // Strict field validation: an unknown field is refused by name (kubectl's default too).
          assert.ok(refused, `unknown field spec.${c.unknownField} accepted`);
          assert.match(refused.message, new RegExp(`unknown field "spec\\.${c.unknownField}"`));
          return;
        }
        if (local.length === 0) {
          assert.equal(refused, undefined, `refused a spec lib/validation.ts accepts: ${refused?.message}`);
          accepted.push({ name, c });
          return;
        }
        assert.ok(refused, `accepted a spec lib/validation.ts refuses: ${local.join('; ')}`);
        assert.equal(refused.code, 422, refused.message);
        const fields = namedFields(refused);
        assert.ok(fields.length > 0, `no causes: ${refused.message}`);
        for (const f of fields) {
          assert.match(f, /^spec(\.|$)/, `cause without a spec field: ${refused.message}`);
          assert.ok(refused.message.includes(f), `message does not name ${f}: ${refused.message}`);
        }
        // Each local message starts with the field it is about, the way kubectl prints the refusal.
        for (const m of local) assert.match(m, /^spec(\.[A-Za-z]+|\[\d+\])*/);
      }),
      { numRuns: 150, seed: SEED, endOnFailure: true },
    );
    assert.ok(accepted.length >= 10, `${accepted.length} accepted Runs`);
  });

  it('every accepted Run reaches a terminal phase with the outcome its workload calls for', async () => {
    const done = new Map<string, Run>();
    await waitFor(
      `${accepted.length} accepted Runs terminal`,
      async () => {
        for (const { name } of accepted) {
          if (done.has(name)) continue;
          const r = await client.get<Run>(Paths.run(ns, name));
          if (isTerminal(r.status?.phase)) done.set(name, r);
        }
        return done.size === accepted.length;
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    const wrong: string[] = [];
    for (const { name, c } of accepted) {
      const run = done.get(name)!;
      const want = Behaviour[c.behaviour];
      const s = run.status!;
      if (s.phase !== want.phase || s.reason !== want.reason)
        wrong.push(`${name} (${c.behaviour}, entrypoint ${JSON.stringify(c.spec.entrypoint)}): ${s.phase}/${s.reason}: ${s.message}`);
      if (Buffer.byteLength(s.message ?? '') > 1024) wrong.push(`${name}: message over 1 KiB`);
      if (JSON.stringify(s.outputs ?? {}).includes('eyJ')) wrong.push(`${name}: a token leaked into outputs`);
      const max = c.spec.retryPolicy?.maxAttempts ?? 1;
      if ((s.attempt ?? 0) > max) wrong.push(`${name}: attempt ${s.attempt} > ${max}`);
      // Never-retried reasons end after one attempt whatever the policy.
      if ([Reason.OutputsInvalid, Reason.OutputsTooLarge].includes(s.reason as never) && s.attempt !== 1)
        wrong.push(`${name}: ${s.reason} retried (attempt ${s.attempt})`);
    }
    assert.deepEqual(wrong, []);
  });

  it('a Runtime spec is accepted exactly when lib/validation.ts accepts it (server-side dry run)', async () => {
    const runtimeCase = fc.record({
      name: fc.constantFrom('ok', 'Bad_Name', 'x'.repeat(64)),
      replicas: fc.constantFrom(undefined, 0, 1, 3, -1, 1.5),
      runs: fc.constantFrom(undefined, 1, 8, 0, -2),
      image: fc.constantFrom('kruntimes-bash-runtime:latest', ''),
    });
    await fc.assert(
      fc.asyncProperty(runtimeCase, async (g) => {
        const spec: RuntimeSpec = {
          template: { spec: { containers: [{ name: 'runtime', image: g.image }] } },
        };
        if (g.replicas !== undefined) spec.replicas = g.replicas;
        if (g.runs !== undefined) spec.capacity = { resources: { runs: g.runs } };
        const local = validateRuntimeSpec(spec, g.name);
        let refused: KubeApiError | undefined;
        try {
          await client.create(
            Paths.runtimes(ns),
            { apiVersion: 'kruntimes.io/v1alpha1', kind: 'Runtime', metadata: { name: g.name }, spec },
            { query: { dryRun: 'All', fieldValidation: 'Strict' } },
          );
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          refused = err;
        }
        assert.equal(refused === undefined, local.length === 0, `apiserver: ${refused?.message ?? 'accepted'}; local: ${local.join('; ')}`);
        if (refused) {
          for (const f of namedFields(refused)) assert.ok(refused.message.includes(f), refused.message);
          assert.ok(namedFields(refused).length > 0 || /metadata\.name/.test(refused.message), refused.message);
        }
      }),
      { numRuns: 40, seed: SEED, endOnFailure: true },
    );
  });
});
