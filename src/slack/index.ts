export { createSlackApp, SLACK_EVENTS_PATH, type SlackApp, type SlackAppDeps } from './app';
export { createSlackNotifier, type SlackNotifier, type SlackNotifierDeps } from './notifier';
export type { DiagnosisPublisher, PublishDiagnosisInput, SlackTarget } from './publisher';
export { createSlackWebClient } from './web-client';
