/**
 * The outcome activities as the worker registers them: pull requests and feedback, from one set of
 * dependencies (secrets, triggers, forges, links, the runtime's log tail, Jira and Slack).
 */
import type { OutcomeActivities } from './outcome-activities.js';
import { createPublishPullRequests } from './publish-pull-requests.js';
import { createSendFeedback, type FeedbackDeps } from './send-feedback.js';

/** Builds the {@link OutcomeActivities}. */
export function createOutcomeActivities(deps: FeedbackDeps): OutcomeActivities {
  return {
    publishPullRequests: createPublishPullRequests(deps),
    sendFeedback: createSendFeedback(deps),
  };
}
