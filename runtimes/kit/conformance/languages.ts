// The workloads the conformance suite runs, in the language of the server under test. A case
// composes a program from these statements (one per line); the suite writes it to a file for
// entrypoint cases or passes it as the single arg of an args-only Run.

export interface Language {
  name: string;
  /** File extension of entrypoint files, with the dot. */
  extension: string;
  /** Prints text and a newline on stdout (text: letters, digits, spaces, `-_=.`). */
  print(text: string): string;
  /** Prints the value of an environment variable (empty when unset) and a newline. */
  printEnv(name: string): string;
  /** Prints every argument as `<arg>`, no newline. */
  printArgs(): string;
  /** Appends `key=value\n` to the file named by $KRUNTIME_OUTPUTS. */
  writeOutput(key: string, value: string): string;
  /** Appends a line to a file in the working directory. */
  appendLine(file: string, text: string): string;
  /** Exits 0 when a file exists in the working directory; otherwise creates it and exits code. */
  exitUnlessExists(file: string, code: number): string;
  sleep(seconds: number): string;
  exit(code: number): string;
  /** Writes count bytes of `x` on stdout, no newline. */
  printBytes(count: number): string;
  /** Prints every environment variable's name, one per line. */
  printEnvNames(): string;
  /** Creates a file in the directory named by an environment variable. */
  touchIn(envName: string, file: string): string;
  /** Starts a sleeper that leaves the process group and session (setsid) and writes its pid to a file. */
  detach(pidFile: string): string;
  /** Prints `alive` when the process whose pid is in the file runs (not a zombie), else `gone` (Linux /proc). */
  printAlive(pidFile: string): string;
}

const bash: Language = {
  name: 'bash',
  extension: '.sh',
  print: (text) => `printf '%s\\n' '${text}'`,
  printEnv: (name) => `printf '%s\\n' "\${${name}:-}"`,
  printArgs: () => 'printf \'<%s>\' "$@"',
  writeOutput: (key, value) => `printf '%s\\n' '${key}=${value}' >> "$KRUNTIME_OUTPUTS"`,
  appendLine: (file, text) => `printf '%s\\n' '${text}' >> '${file}'`,
  exitUnlessExists: (file, code) => `if [ -e '${file}' ]; then exit 0; fi; : > '${file}'; exit ${code}`,
  sleep: (seconds) => `sleep ${seconds}`,
  exit: (code) => `exit ${code}`,
  // Builtins only: the Run's PATH may not reach coreutils.
  printBytes: (count) =>
    's=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; ' +
    `s=$s$s$s$s$s$s$s$s; s=$s$s$s$s$s$s$s$s; n=${count}; ` +
    'while [ $n -ge ${#s} ]; do printf \'%s\' "$s"; n=$((n - ${#s})); done; printf \'%s\' "${s:0:$n}"',
  printEnvNames: () => 'compgen -e',
  touchIn: (envName, file) => `: > "$${envName}/${file}"`,
  detach: (pidFile) => `setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > '${pidFile}'`,
  printAlive: (pidFile) =>
    `s=$(cat "/proc/$(cat '${pidFile}')/stat" 2>/dev/null); s=\${s##*) }; if [ -n "$s" ] && [ "\${s:0:1}" != Z ]; then echo alive; else echo gone; fi`,
};

const python: Language = {
  name: 'python',
  extension: '.py',
  print: (text) => `print('${text}', flush=True)`,
  printEnv: (name) => `import os; print(os.environ.get('${name}', ''))`,
  printArgs: () => 'import sys; sys.stdout.write(\'\'.join(\'<%s>\' % a for a in sys.argv[1:]))',
  writeOutput: (key, value) => `import os; open(os.environ['KRUNTIME_OUTPUTS'], 'a').write('${key}=${value}\\n')`,
  appendLine: (file, text) => `open('${file}', 'a').write('${text}\\n')`,
  exitUnlessExists: (file, code) =>
    `import os, sys; os.path.exists('${file}') and sys.exit(0); open('${file}', 'w').close(); sys.exit(${code})`,
  sleep: (seconds) => `import time; time.sleep(${seconds})`,
  exit: (code) => `import sys; sys.exit(${code})`,
  printBytes: (count) => `import sys; sys.stdout.write('x' * ${count}); sys.stdout.flush()`,
  printEnvNames: () => "import os; print('\\n'.join(os.environ))",
  touchIn: (envName, file) => `import os; open(os.path.join(os.environ['${envName}'], '${file}'), 'w').close()`,
  // A double fork: the grandchild leads nothing, has left the session, and holds no pipe.
  detach: (pidFile) =>
    'import os, time\n' +
    'if os.fork() == 0:\n' +
    '    os.setsid()\n' +
    '    pid = os.fork()\n' +
    '    if pid == 0:\n' +
    '        fd = os.open(os.devnull, os.O_RDWR)\n' +
    '        [os.dup2(fd, n) for n in (0, 1, 2)]\n' +
    '        time.sleep(300)\n' +
    `    open('${pidFile}', 'w').write(str(pid))\n` +
    '    os._exit(0)\n' +
    `while not os.path.exists('${pidFile}') or not open('${pidFile}').read(): time.sleep(0.01)`,
  printAlive: (pidFile) =>
    'import os\n' +
    `try: state = open('/proc/%s/stat' % open('${pidFile}').read().strip()).read().rsplit(') ', 1)[1][0]\n` +
    "except OSError: state = 'Z'\n" +
    "print('gone' if state == 'Z' else 'alive')",
};

const fs = 'process.getBuiltinModule(\'node:fs\')';
const node: Language = {
  name: 'node',
  extension: '.js',
  print: (text) => `console.log('${text}');`,
  printEnv: (name) => `console.log(process.env['${name}'] ?? '');`,
  printArgs: () => 'process.stdout.write(process.argv.slice(2).map((a) => \'<\' + a + \'>\').join(\'\'));',
  writeOutput: (key, value) => `${fs}.appendFileSync(process.env.KRUNTIME_OUTPUTS, '${key}=${value}\\n');`,
  appendLine: (file, text) => `${fs}.appendFileSync('${file}', '${text}\\n');`,
  exitUnlessExists: (file, code) =>
    `if (${fs}.existsSync('${file}')) process.exit(0); ${fs}.writeFileSync('${file}', ''); process.exit(${code});`,
  sleep: (seconds) => `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${seconds * 1000});`,
  exit: (code) => `process.exit(${code});`,
  printBytes: (count) => `${fs}.writeSync(1, 'x'.repeat(${count}));`,
  printEnvNames: () => "console.log(Object.keys(process.env).join('\\n'));",
  touchIn: (envName, file) => `${fs}.writeFileSync(process.env['${envName}'] + '/${file}', '');`,
  detach: (pidFile) =>
    '{ const c = process.getBuiltinModule(\'node:child_process\').spawn(\'sleep\', [\'300\'], { detached: true, stdio: \'ignore\' }); ' +
    `${fs}.writeFileSync('${pidFile}', String(c.pid)); c.unref(); }`,
  printAlive: (pidFile) =>
    `{ let s = 'Z'; try { const t = ${fs}.readFileSync('/proc/' + ${fs}.readFileSync('${pidFile}', 'utf8').trim() + '/stat', 'utf8'); s = t.slice(t.lastIndexOf(') ') + 2)[0]; } catch {} ` +
    "console.log(s === 'Z' ? 'gone' : 'alive'); }",
};

export const LANGUAGES: Readonly<Record<string, Language>> = { bash, python, node };

export function program(...statements: string[]): string {
  return `${statements.join('\n')}\n`;
}
