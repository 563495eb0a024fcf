export * from '../../src/devtools/slack-requests';
