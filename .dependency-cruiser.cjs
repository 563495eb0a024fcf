// The dependency direction of docs/architecture.md, checked by `npm run check:deps` (part of
// `npm test`). The core (cluster, diagnosis, repair) is pure logic around the one place that asks
// a cluster anything; queues, Slack, HTTP, incidents, the CLI and the wiring wrap it. Arrows only
// point inward: an import that points outward fails the build.

/** The core: parse, diagnose, plan, execute, verify, and the small shared modules they use. */
const CORE = '^src/(cluster|diagnosis|repair|config|audit|logging)/|^src/(errors|text|deadline|turns|engine|queue-keys)\\.ts$';
/** The edges and the wiring: nothing in the core may reach them. */
const EDGES = '^src/(slack|jobs|http|incidents|paging|cli|devtools)/|^src/service\\.ts$';
/** Libraries that belong to an edge. */
const SLACK_LIBS = '(^|/)node_modules/@slack/';
const QUEUE_LIBS = '(^|/)node_modules/bullmq/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other cannot be understood, tested or moved alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-stays-pure',
      severity: 'error',
      comment: 'The core never imports queues, Slack, HTTP, incidents, the CLI or the wiring: they wrap it.',
      from: { path: CORE },
      to: { path: EDGES },
    },
    {
      name: 'core-without-edge-libraries',
      severity: 'error',
      comment: 'Bolt and BullMQ belong to src/slack and src/jobs; the core must run without them.',
      from: { path: CORE },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer'], path: [SLACK_LIBS, QUEUE_LIBS] },
    },
    {
      name: 'incidents-publish-through-a-port',
      severity: 'error',
      comment:
        'Incidents decide, a publisher posts: src/incidents never imports Slack (src/slack or @slack/*), so a pager or a web page can publish the same decisions.',
      from: { path: '^src/incidents/' },
      to: { path: ['^src/slack/', SLACK_LIBS] },
    },
    {
      name: 'paging-consumes-decisions',
      severity: 'error',
      comment:
        'The monitor decides, the pagers act: only the wiring (src/service.ts, src/cli) imports src/paging; incidents, Slack, HTTP and jobs never do.',
      from: { path: '^src/', pathNot: '^src/(paging/|service\\.ts$|cli/)' },
      to: { path: '^src/paging/' },
    },
    {
      name: 'paging-is-its-own-edge',
      severity: 'error',
      comment: 'A pager talks HTTP to PagerDuty or a webhook; it never reaches into Slack, the queues or the HTTP routes.',
      from: { path: '^src/paging/' },
      to: { path: ['^src/(slack|jobs|http|cli)/', '^src/service\\.ts$', SLACK_LIBS, QUEUE_LIBS] },
    },
    {
      name: 'cli-is-the-outermost',
      severity: 'error',
      comment:
        'The commands wire the product, nothing imports them: the wiring (src/service.ts) and the edges never reach into src/cli; helpers the commands share live in src/cli/context.ts.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'slack-and-http-are-siblings',
      severity: 'error',
      comment: 'The Slack app and the HTTP routes are two edges; neither reaches into the other.',
      from: { path: '^src/http/' },
      to: { path: '^src/slack/' },
    },
    {
      name: 'product-without-devtools',
      severity: 'error',
      comment: 'The local cluster spawner and the local Slack are for demo, tests and benches, not for the product.',
      from: { path: '^src/', pathNot: '^src/(devtools/|cli/demo\\.ts$)' },
      to: { path: '^src/devtools/' },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Resolve node_modules where it is linked, not where it really lives (the rule test links it).
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
