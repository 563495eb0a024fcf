export * from '../../src/devtools/local-slack';
