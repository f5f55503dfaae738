/** The workflows the worker registers. */
export { agentSessionWorkflow } from './session-workflow.js';
