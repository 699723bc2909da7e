// Runs a program and checks its output against an expectations file, so
// the examples (examples/) cannot rot: ctest runs each one through this.
//
//   node tests/wasi/check-output.mjs --expect FILE [--status N] -- CMD ARGS...
//
// FILE holds one JavaScript regular expression per line; '#' starts a
// comment line, blank lines are ignored. Each expression must match a line
// of the program's standard output, in the order given (other lines may
// come in between). The program must exit with status N (default 0).
// Prints the program's output, one "ok"/"FAIL" line per expectation and
// then "N passed, N failed"; exits 1 if anything failed.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import process from 'node:process';

function parseArgs(argv) {
  const opts = { expect: null, status: 0, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.command = argv.slice(i + 1);
      break;
    } else if (a === '--expect') opts.expect = argv[++i];
    else if (a === '--status') opts.status = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.expect) throw new Error('--expect FILE is required');
  if (!opts.command.length) throw new Error('no command after --');
  return opts;
}

function readExpectations(text) {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => new RegExp(line));
}

// Matches the expressions in order against the lines; returns one
// { re, line } per expression (line null when it was not found after the
// previous match).
function matchInOrder(expectations, lines) {
  let at = 0;
  return expectations.map((re) => {
    for (let i = at; i < lines.length; i++) {
      if (re.test(lines[i])) {
        at = i + 1;
        return { re, line: lines[i] };
      }
    }
    return { re, line: null };
  });
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const expectations = readExpectations(readFileSync(opts.expect, 'utf8'));
  const [cmd, ...args] = opts.command;
  const run = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (run.error) throw run.error;
  process.stdout.write(run.stdout);
  process.stdout.write('--- checking the output\n');

  let passed = 0;
  let failed = 0;
  const status = run.status ?? `signal ${run.signal}`;
  if (status === opts.status) passed++;
  else {
    failed++;
    console.log(`FAIL exit status ${status}, expected ${opts.status}`);
  }
  const lines = run.stdout.split('\n');
  for (const { re, line } of matchInOrder(expectations, lines)) {
    if (line !== null) passed++;
    else failed++;
    console.log(`${line !== null ? 'ok  ' : 'FAIL'} ${re.source}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`check-output: ${err.message}\n`);
  process.exitCode = 2;
}
