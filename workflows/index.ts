export { certificateLifecycleWorkflow } from './certificate-lifecycle';
export { scheduledRenewalWorkflow } from './scheduled-renewal';
