export { certificateLifecycleWorkflow } from './certificate-lifecycle';
export { scheduledRenewalWorkflow } from './scheduled-renewal';
export { deployToTargetWorkflow } from './deploy-to-target';
export { targetPreflightWorkflow } from './target-preflight';
export { deviceSessionWorkflow } from './device-session';
export { dnsProviderCheckWorkflow } from './dns-provider-check';
export { testEmailWorkflow } from './test-email';
export { scheduleHealthWorkflow } from './schedule-health';
