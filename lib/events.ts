// Kubernetes Events on Runs (one for every retry and every terminal failure) and on Workflows
// (each task's start and end), so `kubectl describe` and `kubectl get events` tell what happened.
import { API_VERSION, microTime, type ObjectMeta, type Run } from './api.ts';
import { type KubeClient, Paths } from './kube-client.ts';
import { boundMessage } from './message.ts';

export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** What the Event says happened (the new events API's `action`). */
export const EventAction = { Retry: 'Retry', Fail: 'Fail', Delete: 'Delete', Start: 'Start', Finish: 'Finish', Apply: 'Apply', Cleanup: 'Cleanup' } as const;
export type EventAction = (typeof EventAction)[keyof typeof EventAction];

/** The object an Event is about. */
export interface InvolvedObject {
  kind: 'Run' | 'Workflow' | 'Runtime';
  metadata: ObjectMeta;
}

export interface ObjectEvent {
  type: EventType;
  reason: string;
  action: EventAction;
  message: string;
}

/**
 * The core/v1 Event for one occurrence. eventTime is a MicroTime (six fractional digits, as
 * the apiserver requires); the legacy timestamps are whole seconds for older readers.
 */
export function eventObject(
  object: Run | InvolvedObject,
  event: ObjectEvent,
  reporter: { controller: string; instance: string },
  now = new Date(),
): Record<string, unknown> {
  const seconds = `${now.toISOString().slice(0, 19)}Z`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      generateName: `${object.metadata.name}.`,
      namespace: object.metadata.namespace,
    },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: object.kind ?? 'Run',
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
    },
    type: event.type,
    reason: event.reason,
    action: event.action,
    message: boundMessage(event.message),
    eventTime: microTime(now),
    firstTimestamp: seconds,
    lastTimestamp: seconds,
    count: 1,
    reportingComponent: reporter.controller,
    reportingInstance: reporter.instance.slice(0, 128),
    source: { component: reporter.controller },
  };
}

/** Records an Event; best effort (an Event is never worth failing or delaying a Run for). */
export async function recordEvent(
  client: KubeClient,
  object: Run | InvolvedObject,
  event: ObjectEvent,
  reporter: { controller: string; instance: string },
): Promise<void> {
  await client.create(Paths.events(object.metadata.namespace!), eventObject(object, event, reporter));
}
