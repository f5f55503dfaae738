/** The workflows the worker registers. */
export { agentSessionWorkflow } from './session-workflow.js';
export { jiraPollWorkflow, jiraTicketWorkflow } from './jira-workflows.js';
export { namespaceWorkflow } from './namespace-workflow.js';
