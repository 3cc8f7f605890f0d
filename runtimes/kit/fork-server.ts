// The fork server: a small Perl process (≈ 8 MB) that starts the workloads for the Runtime Server,
// so that no workload costs a fork of the 70 MB Node process (its page tables copied, its heap's
// pages faulted back writable, its event loop blocked until the child exec'd: docs/performance.md,
// "The fork server"). Perl is there in every Debian-based image (perl-base is essential); where it
// is not, the server spawns directly (launcher.ts).
//
// The protocol. Requests, on the fork server's stdin:
//   → <token>\n                                   once, first
//   → <seq> <nargs> <nenv> <bytes>\n<bytes of NUL-terminated fields: cwd, file, args…, NAME=value…>
// For each request the fork server connects three times to the Runtime Server's abstract Unix
// socket, sending "<token> <seq> <0|1|2>\n" on each, and forks a waiter: a copy of itself that
// forks the workload (which gets connections 1 and 2 as its stdout and stderr: Node reads them as
// it reads spawn's pipes, which are socketpairs too), blocks in waitpid for it and reports on
// connection 0:
//   ← S <pid>\n      the process has exec'd
//   ← F <errno>\n    it never ran (fork, chdir or exec failed)
//   ← X <status>\n   it ended (the wait status)
// A waiter that ends without X (killed) leaves its execution lost, not hung. What fails before a
// waiter exists is reported on the fork server's stdout: "F <seq> <errno>\n". Each waiter blocks in
// waitpid for its one child, so no exit depends on a signal arriving at the right moment. The token (random, given on stdin, never in an environment or argv) keeps
// another process of the pod from passing as a workload's output.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { OutputStream } from '../../lib/runtime-proto.ts';
import {
  checkLaunchSpec,
  decodeWaitStatus,
  errnoName,
  LaunchedProcess,
  LauncherKind,
  type LaunchSpec,
  type ProcessLauncher,
} from './launcher.ts';
import type { DataStream } from './output-replay.ts';

/** What a connection carries, by the number in its header: the waiter's reports, or an output stream. */
const CONNECTION_KIND: Readonly<Record<string, 'reports' | DataStream>> = {
  0: 'reports',
  1: OutputStream.Stdout,
  2: OutputStream.Stderr,
};

/** A header longer than this is not ours: the connection is dropped. */
const MAX_HEADER_BYTES = 128;

/** After the fork server went away, how long a launch may still see its waiter connect. */
const ORPHAN_GRACE_MS = 1000;

/** One launch between its request and its end (exit and both outputs ended), or its failure. */
interface Pending {
  launched: LaunchedProcess;
  /** The waiter's report connection, once accepted. */
  reports: Socket | undefined;
  /** Output connections attached so far, by stream; ended ones stay until close. */
  outputs: Map<DataStream, Socket>;
  ended: number;
  exited: boolean;
  abandoned: boolean;
}

export interface ForkServerOptions {
  /** The Perl interpreter (an absolute path). */
  perl: string;
  /** Told when the fork server went away unexpectedly (the server then spawns directly). */
  onExit?: (reason: string) => void;
  /** The fork server's stderr goes to the Runtime Server's (its own errors only). */
  stderr?: 'inherit' | 'ignore';
}

export class ForkServer implements ProcessLauncher {
  readonly kind = LauncherKind.ForkServer;
  private readonly token = randomBytes(16).toString('hex');
  private readonly socketName = `kruntimes-fork-server-${process.pid}-${randomBytes(6).toString('hex')}`;
  private readonly pending = new Map<number, Pending>();
  private readonly options: ForkServerOptions;
  private server: Server | undefined;
  private perl: ChildProcess | undefined;
  /** Requests written before the socket listens go out once it does. */
  private queued: string[] | undefined = [];
  private seq = 0;
  private controlBuffer = '';
  /** No new launches: closed, or the fork server went away. */
  private closed = false;

  constructor(options: ForkServerOptions) {
    this.options = options;
  }

  /** Starts the socket and the Perl process; resolves once both run (rejects if Perl cannot start). */
  start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(`\0${this.socketName}`, () => {
        server.off('error', reject);
        const perl = spawn(this.options.perl, ['-e', FORK_SERVER_SCRIPT, this.socketName], {
          stdio: ['pipe', 'pipe', this.options.stderr ?? 'inherit'],
          // Perl needs nothing of ours; the workloads get exactly the env of each request.
          env: {},
        });
        this.perl = perl;
        perl.once('error', (err) => {
          this.wentAway(`the fork server could not start: ${err.message}`);
          reject(err);
        });
        perl.once('spawn', () => {
          resolve();
          const queued = this.queued ?? [];
          this.queued = undefined;
          perl.stdin?.write([`${this.token}\n`, ...queued].join(''), 'latin1');
        });
        perl.once('exit', (code, signal) => this.wentAway(`the fork server exited (${signal ?? `exit code ${code}`})`));
        perl.stdin?.on('error', () => {}); // its exit reports the problem
        perl.stdout?.setEncoding('latin1').on('data', (text: string) => this.onControl(text));
      });
    });
  }

  launch(spec: LaunchSpec): LaunchedProcess {
    if (this.closed) throw new Error('the fork server is closed');
    checkLaunchSpec(spec);
    const seq = ++this.seq;
    const launched = new LaunchedProcess();
    const entry: Pending = { launched, reports: undefined, outputs: new Map(), ended: 0, exited: false, abandoned: false };
    this.pending.set(seq, entry);
    launched.onAbandon(() => {
      entry.abandoned = true;
      for (const socket of entry.outputs.values()) socket.destroy();
      this.settle(seq, entry);
    });
    const env = Object.entries(spec.env).filter((e): e is [string, string] => e[1] !== undefined);
    const fields = [spec.cwd, spec.file, ...spec.args, ...env.map(([name, value]) => `${name}=${value}`)];
    const payload = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
    const request = `${seq} ${spec.args.length} ${env.length} ${payload.length}\n${payload.toString('latin1')}`;
    if (this.queued !== undefined) this.queued.push(request);
    else this.perl?.stdin?.write(request, 'latin1');
    return launched;
  }

  /** Stops the fork server and the socket; waiters of running processes go on until they end. */
  close(): void {
    this.closed = true;
    this.perl?.kill('SIGKILL');
    this.server?.close();
  }

  /** The fork server's own lines: a launch whose waiter never started. */
  private onControl(text: string): void {
    this.controlBuffer += text;
    for (let nl = this.controlBuffer.indexOf('\n'); nl >= 0; nl = this.controlBuffer.indexOf('\n')) {
      const [kind, seqText, errno] = this.controlBuffer.slice(0, nl).split(' ');
      this.controlBuffer = this.controlBuffer.slice(nl + 1);
      const seq = Number(seqText);
      const entry = this.pending.get(seq);
      if (kind === 'F' && entry !== undefined) this.failed(seq, entry, launchError(Number(errno)));
    }
  }

  /** A connection from the fork server: its header names the launch and what it carries. */
  private accept(socket: Socket): void {
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const nl = header.indexOf(0x0a);
      if (nl < 0) {
        if (header.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const [token, seqText, kindText] = header.subarray(0, nl).toString('latin1').split(' ');
      const seq = Number(seqText);
      const entry = this.pending.get(seq);
      const kind = CONNECTION_KIND[kindText ?? ''];
      const taken = kind === 'reports' ? entry?.reports !== undefined : kind !== undefined && entry?.outputs.has(kind);
      if (!sameToken(token ?? '', this.token) || entry === undefined || kind === undefined || taken || entry.abandoned) {
        socket.destroy();
        return;
      }
      const rest = header.subarray(nl + 1);
      if (kind === 'reports') this.attachReports(seq, entry, socket, rest);
      else this.attachOutput(seq, entry, kind, socket, rest);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  /** The waiter's lines: S <pid>, F <errno>, X <status>; its end without X loses the process. */
  private attachReports(seq: number, entry: Pending, socket: Socket, rest: Buffer): void {
    entry.reports = socket;
    let buffer = rest.toString('latin1');
    const onLines = () => {
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const [kind, value] = buffer.slice(0, nl).split(' ');
        buffer = buffer.slice(nl + 1);
        const number = Number(value);
        if (kind === 'S') {
          entry.launched.pid = number;
          entry.launched.emit('spawn', number);
        } else if (kind === 'F') {
          this.failed(seq, entry, launchError(number));
        } else if (kind === 'X') {
          entry.exited = true;
          const { code, signal } = decodeWaitStatus(number);
          entry.launched.emit('exit', code, signal);
          this.settle(seq, entry);
        }
      }
    };
    onLines();
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      buffer += text;
      onLines();
    });
    socket.once('close', () => {
      if (entry.exited || this.pending.get(seq) !== entry) return;
      if (entry.launched.pid === undefined) this.failed(seq, entry, lostError('its waiter ended before it started'));
      else this.lost(seq, entry, 'the process waiting for it was killed');
    });
  }

  private attachOutput(seq: number, entry: Pending, stream: DataStream, socket: Socket, rest: Buffer): void {
    entry.outputs.set(stream, socket);
    if (rest.length > 0) entry.launched.emit('output', stream, rest);
    socket.on('data', (chunk: Buffer) => entry.launched.emit('output', stream, chunk));
    socket.once('close', () => {
      entry.ended++;
      this.settle(seq, entry);
    });
  }

  /** 'close' once the process exited and both outputs ended (or were abandoned). */
  private settle(seq: number, entry: Pending): void {
    if (!entry.exited || this.pending.get(seq) !== entry) return;
    if (!entry.abandoned && entry.ended < 2) return;
    this.forget(seq, entry);
    entry.launched.emit('close');
  }

  private failed(seq: number, entry: Pending, err: NodeJS.ErrnoException): void {
    this.forget(seq, entry);
    entry.launched.emit('error', err);
  }

  private lost(seq: number, entry: Pending, reason: string): void {
    this.forget(seq, entry);
    entry.launched.emit('lost', reason);
  }

  private forget(seq: number, entry: Pending): void {
    this.pending.delete(seq);
    entry.reports?.destroy();
    for (const socket of entry.outputs.values()) socket.destroy();
  }

  /**
   * The fork server is gone: no new launches (the Runtime Server spawns directly from now on).
   * Waiters already forked go on reporting; a launch whose waiter has not connected within the
   * grace never will, and fails.
   */
  private wentAway(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onExit?.(reason);
    setTimeout(() => {
      for (const [seq, entry] of this.pending) {
        if (entry.reports === undefined) this.failed(seq, entry, lostError(reason));
      }
    }, ORPHAN_GRACE_MS).unref();
  }
}

function launchError(errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const err: NodeJS.ErrnoException = new Error(code ?? `errno ${errno}`);
  if (code !== undefined) err.code = code;
  err.errno = errno;
  return err;
}

function lostError(reason: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(reason);
  err.code = 'ELAUNCHER';
  return err;
}

function sameToken(got: string, want: string): boolean {
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The fork server itself (perl -e SCRIPT <socket name>), only modules of perl-base. It reaps its
 * waiters (so their CPU time and their workload's add up in its own, where the bench counts them)
 * when SIGCHLD comes and after each read: Perl runs a handler between operations, so a signal that
 * lands just before a blocking read waits for the next request; nothing but that accounting
 * depends on it, the waiters report for themselves. A waiter sets SIGCHLD back to the default
 * before it forks, so the workload starts with no signal caught or ignored. Perl marks every
 * descriptor above 2 close-on-exec, so a workload inherits only its three.
 */
const FORK_SERVER_SCRIPT = String.raw`
use strict;
use warnings;
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);

my $addr = pack_sockaddr_un("\0" . $ARGV[0]);
my $token;
sub reap { local ($!, $?); 1 while waitpid(-1, POSIX::WNOHANG()) > 0; }
$SIG{CHLD} = \&reap;

sub put {
  my ($fh, $line) = @_;
  my $off = 0;
  while ($off < length $line) {
    my $n = syswrite($fh, $line, length($line) - $off, $off);
    if (!defined $n) { next if $!{EINTR}; return 0; }
    $off += $n;
  }
  return 1;
}

sub connected {
  my ($seq, $kind) = @_;
  my $s;
  socket($s, AF_UNIX, SOCK_STREAM, 0) or return;
  connect($s, $addr) or return;
  put($s, "$token $seq $kind\n") or return;
  return $s;
}

sub launch {
  my ($seq, $nargs, $payload) = @_;
  my @fields = split /\0/, $payload, -1;
  pop @fields;
  my ($cwd, $file) = splice @fields, 0, 2;
  my @args = splice @fields, 0, $nargs;
  my @sockets;
  for my $kind (0, 1, 2) {
    my $s = connected($seq, $kind) or return put(\*STDOUT, "F $seq " . ($! + 0) . "\n");
    push @sockets, $s;
  }
  my $waiter = fork();
  return put(\*STDOUT, "F $seq " . ($! + 0) . "\n") if !defined $waiter;
  return if $waiter != 0;
  wait_for($cwd, $file, \@args, \@fields, @sockets);
  POSIX::_exit(0);
}

sub wait_for {
  my ($cwd, $file, $args, $env, $reports, $out, $err) = @_;
  $SIG{CHLD} = 'DEFAULT';
  my ($status_r, $status_w);
  pipe($status_r, $status_w) or return put($reports, "F " . ($! + 0) . "\n");
  my $pid = fork();
  return put($reports, "F " . ($! + 0) . "\n") if !defined $pid;
  if ($pid == 0) {
    close $status_r;
    POSIX::setsid();
    my $null = POSIX::open("/dev/null", POSIX::O_RDONLY());
    if (defined $null && $null != 0) { POSIX::dup2($null, 0); POSIX::close($null); }
    POSIX::dup2(fileno($out), 1);
    POSIX::dup2(fileno($err), 2);
    if (chdir $cwd) {
      %ENV = ();
      for my $entry (@$env) {
        my ($name, $value) = split /=/, $entry, 2;
        $ENV{$name} = $value;
      }
      { no warnings 'exec'; exec { $file } $file, @$args; }
    }
    syswrite($status_w, $! + 0);
    POSIX::_exit(127);
  }
  close $status_w;
  close $out;
  close $err;
  my $failed = '';
  while (1) {
    my $n = sysread($status_r, $failed, 16, length $failed);
    if (!defined $n) { next if $!{EINTR}; last; }
    last if $n == 0;
  }
  if ($failed ne '') {
    waitpid($pid, 0);
    return put($reports, "F $failed\n");
  }
  put($reports, "S $pid\n");
  my $waited;
  do { $waited = waitpid($pid, 0) } while ($waited == -1 && $!{EINTR});
  put($reports, "X $?\n") if $waited == $pid;
}

my $buffer = '';
while (1) {
  my $n = sysread(STDIN, $buffer, 65536, length $buffer);
  if (!defined $n) { next if $!{EINTR}; last; }
  last if $n == 0;
  while ((my $nl = index($buffer, "\n")) >= 0) {
    if (!defined $token) {
      $token = substr($buffer, 0, $nl);
      substr($buffer, 0, $nl + 1) = '';
      next;
    }
    my ($seq, $nargs, $nenv, $bytes) = split / /, substr($buffer, 0, $nl);
    last if length($buffer) < $nl + 1 + $bytes;
    my $payload = substr($buffer, $nl + 1, $bytes);
    substr($buffer, 0, $nl + 1 + $bytes) = '';
    launch($seq, $nargs, $payload);
  }
  reap();
}
POSIX::_exit(0);
`;
