import fs from 'node:fs';
import type { Command } from 'commander';
import { parsePaste } from '../cluster/parse-paste';
import { formatReport } from '../diagnosis/format-text';
import { EXIT, processIO, type CliIO } from './context';

export function register(program: Command, io: CliIO = processIO): void {
  program
    .command('analyze')
    .description('offline analysis of pasted CLUSTER NODES (and CLUSTER INFO) output; connects to nothing')
    .argument('[file]', 'a file with the paste, or - for standard input', '-')
    .option('--json', 'print the JSON report')
    .action(async (file: string, options: { json?: boolean }) => {
      const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
      process.exitCode = runAnalyze(text, options, io);
    });
}

export function runAnalyze(text: string, options: { json?: boolean }, io: CliIO): number {
  // Required here so `--help` does not load the engine (and ioredis with it).
  const { analyseSnapshot } = require('../engine') as typeof import('../engine');
  const snapshot = parsePaste(text);
  const { report } = analyseSnapshot(snapshot);
  io.stdout(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.findings.some((f) => f.severity === 'critical') ? EXIT.critical : EXIT.ok;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Paste CLUSTER NODES output, then Ctrl-D:\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
