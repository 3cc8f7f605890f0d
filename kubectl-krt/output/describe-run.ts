// `kubectl krt describe RUN`: everything about one Run a person needs to understand where it is.
import type { ChalkInstance } from 'chalk';
import { type Condition, DEFAULT_BACKOFF_SECONDS, DEFAULT_MAX_ATTEMPTS, preciseCreationTime, type Run } from '../../lib/api.ts';
import { formatAmounts, runRequests } from '../../lib/resources.ts';
import { explainRun } from './explain.ts';
import { age, between, humanBytes, preciseDuration, secondsAsDuration } from './format.ts';
import { colorPhase, phaseOf } from './run-table.ts';
import { indent, renderFields, renderTable } from './table.ts';

/** The fields of a core/v1 Event that describe shows. */
export interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  source?: { component?: string };
  reportingComponent?: string;
  series?: { count?: number; lastObservedTime?: string };
}

function eventTime(e: KubeEvent): string | undefined {
  return e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp;
}

/** Events oldest first, at most `limit` of the most recent. */
export function recentEvents(events: readonly KubeEvent[], limit = 10): KubeEvent[] {
  return [...events]
    .sort((a, b) => Date.parse(eventTime(a) ?? '') - Date.parse(eventTime(b) ?? ''))
    .slice(-limit);
}

/** The `Conditions:` section of describe: a table, or `<none>`. */
export function renderConditionsSection(conditions: readonly Condition[], now: number): string {
  return conditions.length
    ? `Conditions:\n${indent(
        renderTable(
          ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
          conditions.map((c) => [
            c.type,
            c.status,
            c.reason ?? '',
            c.lastTransitionTime ? age(c.lastTransitionTime, now) : '',
            (c.message ?? '').replace(/\s*\n\s*/g, ' '),
          ]),
        ),
      )}`
    : 'Conditions:  <none>\n';
}

/** The `Events:` section of describe: the ten most recent, oldest first, or `<none>`. */
export function renderEventsSection(events: readonly KubeEvent[], now: number): string {
  const recent = recentEvents(events);
  return recent.length
    ? `Events:\n${indent(
        renderTable(
          ['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE'],
          recent.map((e) => [
            e.type ?? '',
            e.reason ?? '',
            `${age(eventTime(e), now)}${(e.series?.count ?? e.count ?? 1) > 1 ? ` (x${e.series?.count ?? e.count})` : ''}`,
            e.reportingComponent || e.source?.component || '',
            (e.message ?? '').replace(/\s*\n\s*/g, ' '),
          ]),
        ),
      )}`
    : 'Events:  <none>\n';
}

export function timing(run: Run): Array<[string, string]> {
  const s = run.status ?? {};
  // A Run made by kubectl krt run or a Workflow carries its creation time in microseconds; any
  // other has only the creationTimestamp's whole seconds, which can overstate a duration by up to
  // a second (a Run scheduled in 7 ms showing 440ms), so that is said instead of a false precision.
  const created = preciseCreationTime(run.metadata);
  const rows: Array<[string, string]> = [];
  const add = (label: string, ms: number | undefined, fromCreation = false) => {
    if (ms === undefined) return;
    rows.push([label, fromCreation && !created.precise ? `at most ${preciseDuration(ms)} (creation time in whole seconds)` : preciseDuration(ms)]);
  };
  add('Created to Scheduled', between(created.time, s.scheduledTime), true);
  add('Scheduled to Started', between(s.scheduledTime, s.startTime));
  add('Started to Completed', between(s.startTime, s.completionTime));
  add('Total', between(created.time, s.completionTime), true);
  return rows;
}

function spec(run: Run): Array<[string, string]> {
  const sp = run.spec;
  const rows: Array<[string, string]> = [];
  if (sp.entrypoint) rows.push(['Entrypoint', sp.entrypoint]);
  if (sp.source?.inline !== undefined) {
    const lines = sp.source.inline.split('\n').length - (sp.source.inline.endsWith('\n') ? 1 : 0);
    rows.push(['Source', `inline, ${lines} line${lines === 1 ? '' : 's'}`]);
  }
  if (sp.source?.git) {
    const g = sp.source.git;
    rows.push(['Source', `git ${g.repository}${g.commit ? `@${g.commit}` : g.ref ? ` (${g.ref})` : ''}`]);
  }
  if (sp.args?.length) rows.push(['Args', JSON.stringify(sp.args)]);
  if (sp.env && Object.keys(sp.env).length > 0) rows.push(['Env', Object.keys(sp.env).sort().join(', ')]);
  // Only when the Run asks for more than the default one Run slot.
  if (sp.resources?.requests && Object.keys(sp.resources.requests).length > 0)
    rows.push(['Requests', formatAmounts(runRequests(sp))]);
  rows.push(['Timeout', sp.timeoutSeconds ? secondsAsDuration(sp.timeoutSeconds) : 'none']);
  const attempts = sp.retryPolicy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const backoff = sp.retryPolicy?.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  rows.push([
    'Attempts',
    attempts > 1 ? `up to ${attempts}, backoff ${secondsAsDuration(backoff)}` : '1 (no retries)',
  ]);
  const retryOn = sp.retryPolicy?.retryOn;
  if (attempts > 1 && retryOn !== undefined) rows.push(['Retry On', retryOn.length > 0 ? retryOn.join(', ') : 'nothing']);
  if (sp.ttlSecondsAfterFinished !== undefined) {
    rows.push(['TTL', `deleted ${secondsAsDuration(sp.ttlSecondsAfterFinished)} after it finishes`]);
  }
  if (sp.cancelRequested) rows.push(['Cancel Requested', 'true']);
  return rows;
}

export function describeRun(
  run: Run,
  events: readonly KubeEvent[],
  chalk: ChalkInstance,
  now: number,
): string {
  const s = run.status ?? {};
  const m = run.metadata;
  const labels = Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  const header: Array<[string, string]> = [
    ['Name', m.name ?? ''],
    ['Namespace', m.namespace ?? ''],
    ['UID', m.uid ?? ''],
    ['Labels', labels.length ? labels.join(', ') : '<none>'],
    ['Runtime', run.spec.runtime],
    ['Phase', colorPhase(chalk, phaseOf(run))],
    ['Reason', s.reason ?? ''],
    ['Message', s.message ? s.message.replace(/\n/g, '\n  ') : ''],
    [
      'Attempt',
      s.attempt === undefined
        ? ''
        : `${s.attempt} of ${run.spec.retryPolicy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS}`,
    ],
    ['Exit Code', s.exitCode === undefined ? '' : String(s.exitCode)],
    [
      'Assigned Pod',
      s.assignedPod ? `${s.assignedPod}${s.assignedPodUID ? ` (uid ${s.assignedPodUID})` : ''}` : '<none>',
    ],
    ['Created', m.creationTimestamp ? `${m.creationTimestamp} (${age(m.creationTimestamp, now)} ago)` : ''],
    ['Started', s.startTime ?? ''],
    ['Completed', s.completionTime ?? ''],
  ];
  let out = renderFields(header.filter(([, v]) => v !== ''));

  const explanation = explainRun(run);
  if (explanation) out += `Explanation:\n${indent(explanation)}\n`;

  const t = timing(run);
  if (t.length) out += `Timing:\n${renderFields(t, '  ')}`;
  out += `Spec:\n${renderFields(spec(run), '  ')}`;

  const outputs = Object.entries(s.outputs ?? {});
  out += outputs.length ? `Outputs:\n${renderFields(outputs, '  ')}` : 'Outputs:  <none>\n';

  const refs = s.artifactRefs ?? [];
  out += refs.length
    ? `Artifacts:\n${indent(
        renderTable(
          ['NAME', 'TYPE', 'SIZE', 'DIGEST', 'KEY'],
          refs.map((r) => [r.name, r.type ?? 'file', humanBytes(r.size), r.digest, r.key]),
        ),
      )}`
    : 'Artifacts:  <none>\n';

  out += renderConditionsSection(s.conditions ?? [], now);
  out += renderEventsSection(events, now);
  return out;
}
