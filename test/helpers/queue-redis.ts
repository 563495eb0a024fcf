export * from '../../src/devtools/queue-keys';
