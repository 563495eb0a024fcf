export * from '../../src/devtools/processes';
