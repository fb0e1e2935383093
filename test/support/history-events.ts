/** A history event's type as a short name ("WORKFLOW_TASK_COMPLETED"), for reports and assertions. */
import { temporal } from '@temporalio/proto';

export const eventTypeName = (event: temporal.api.history.v1.IHistoryEvent): string =>
  temporal.api.enums.v1.EventType[event.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? '?';
