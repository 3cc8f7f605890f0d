// The fork server: a small Perl process (≈ 8 MB) that starts the workloads for the Runtime Server,
// so that no workload costs a fork of the 70 MB Node process (its page tables copied, its heap's
// pages faulted back writable, its event loop blocked until the child exec'd: docs/performance.md,
// "The fork server"). Perl is there in every Debian-based image (perl-base is essential); where it
// is not, the server spawns directly (launcher.ts).
//
// The protocol, on the fork server's stdin and stdout:
//   → <token>\n                                   once, first
//   → <seq> <nargs> <nenv> <bytes>\n<bytes of NUL-terminated fields: cwd, file, args…, NAME=value…>
//   ← S <seq> <pid>\n      the process has exec'd
//   ← F <seq> <errno>\n    it never ran (connect, fork, chdir or exec failed)
//   ← X <seq> <status>\n   it ended (the wait status)
// Output does not pass through the fork server: before each fork it connects twice to the Runtime
// Server's abstract Unix socket, sends "<token> <seq> <1|2>\n" on each, and the child gets the
// two connections as its stdout and stderr. Node reads them as it reads spawn's pipes (those are
// socketpairs too). The token (random, given on stdin, never in an environment or argv) keeps
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

/** The stream a connection carries, by the descriptor it becomes in the child (its header says which). */
const STREAM_OF_FD: Readonly<Record<string, DataStream>> = { 1: OutputStream.Stdout, 2: OutputStream.Stderr };

/** A header longer than this is not ours: the connection is dropped. */
const MAX_HEADER_BYTES = 128;

/** One launch between its request and the end of both its outputs. */
interface Pending {
  launched: LaunchedProcess;
  /** Output connections attached so far, by stream; ended ones stay until close. */
  sockets: Map<DataStream, Socket>;
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
  /** Poll for exits as where no signalfd is known (tests of that path). */
  pollForExits?: boolean;
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
        const args = ['-e', FORK_SERVER_SCRIPT, this.socketName, ...(this.options.pollForExits ? ['poll'] : [])];
        const perl = spawn(this.options.perl, args, {
          stdio: ['pipe', 'pipe', this.options.stderr ?? 'inherit'],
          // Perl needs nothing of ours; the workloads get exactly the env of each request.
          env: {},
        });
        this.perl = perl;
        perl.once('error', (err) => {
          this.shutDown(`the fork server could not start: ${err.message}`);
          reject(err);
        });
        perl.once('spawn', () => {
          resolve();
          const queued = this.queued ?? [];
          this.queued = undefined;
          perl.stdin?.write([`${this.token}\n`, ...queued].join(''));
        });
        perl.once('exit', (code, signal) => {
          if (!this.closed) this.shutDown(`the fork server exited (${signal ?? `exit code ${code}`})`);
        });
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
    const entry: Pending = { launched, sockets: new Map(), ended: 0, exited: false, abandoned: false };
    this.pending.set(seq, entry);
    launched.onAbandon(() => {
      entry.abandoned = true;
      for (const socket of entry.sockets.values()) socket.destroy();
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

  close(): void {
    this.closed = true;
    this.perl?.kill('SIGKILL');
    this.server?.close();
  }

  /** A line from Perl: S (started), F (failed to start), X (exited). */
  private onControl(text: string): void {
    this.controlBuffer += text;
    for (let nl = this.controlBuffer.indexOf('\n'); nl >= 0; nl = this.controlBuffer.indexOf('\n')) {
      const [kind, seqText, value] = this.controlBuffer.slice(0, nl).split(' ');
      this.controlBuffer = this.controlBuffer.slice(nl + 1);
      const seq = Number(seqText);
      const entry = this.pending.get(seq);
      if (entry === undefined) continue;
      const number = Number(value);
      if (kind === 'S') {
        entry.launched.pid = number;
        entry.launched.emit('spawn', number);
      } else if (kind === 'F') {
        this.pending.delete(seq);
        for (const socket of entry.sockets.values()) socket.destroy();
        const code = errnoName(number);
        const err: NodeJS.ErrnoException = new Error(code ?? `errno ${number}`);
        if (code !== undefined) err.code = code;
        err.errno = number;
        entry.launched.emit('error', err);
      } else if (kind === 'X') {
        entry.exited = true;
        const { code, signal } = decodeWaitStatus(number);
        entry.launched.emit('exit', code, signal);
        this.settle(seq, entry);
      }
    }
  }

  /** A connection from Perl: its header names the launch and the stream; the rest is output. */
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
      const [token, seqText, streamText] = header.subarray(0, nl).toString('latin1').split(' ');
      const entry = this.pending.get(Number(seqText));
      const stream = STREAM_OF_FD[streamText ?? ''];
      if (
        !sameToken(token ?? '', this.token) ||
        entry === undefined ||
        stream === undefined ||
        entry.sockets.has(stream) ||
        entry.abandoned
      ) {
        socket.destroy();
        return;
      }
      this.attach(Number(seqText), entry, stream, socket, header.subarray(nl + 1));
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  private attach(seq: number, entry: Pending, stream: DataStream, socket: Socket, rest: Buffer): void {
    entry.sockets.set(stream, socket);
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
    this.pending.delete(seq);
    entry.launched.emit('close');
  }

  /** The fork server is gone: launches not started fail; started ones are lost (the caller kills them). */
  private shutDown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.server?.close();
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      for (const socket of entry.sockets.values()) socket.destroy();
      if (entry.exited) entry.launched.emit('close');
      else if (entry.launched.pid === undefined) {
        const err: NodeJS.ErrnoException = new Error(reason);
        err.code = 'ELAUNCHER';
        entry.launched.emit('error', err);
      } else entry.launched.emit('lost', reason);
    }
    this.options.onExit?.(reason);
  }
}

function sameToken(got: string, want: string): boolean {
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The fork server itself (perl -e SCRIPT <socket name>), only modules of perl-base. No exit may
 * wait for a signal that came at the wrong moment: Perl runs a signal handler between operations,
 * so a SIGCHLD landing just before a blocking read would be handled only after the next request.
 * SIGCHLD is therefore blocked and read from a signalfd that select() watches beside stdin (by
 * syscall number, known for x86_64 and aarch64; elsewhere it polls every 10 ms while a process
 * runs), and every wake-up reaps what ended. A child unblocks every signal before exec (caught ones
 * become default at exec; nothing is ignored). Perl marks every descriptor above 2 close-on-exec,
 * so a workload inherits only its three.
 */
const FORK_SERVER_SCRIPT = String.raw`
use strict;
use warnings;
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);

my $addr = pack_sockaddr_un("\0" . $ARGV[0]);
my $token;
my %running;

POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new(POSIX::SIGCHLD()));
my %SIGNALFD4 = (x86_64 => 289, aarch64 => 74);
my $signals;
my $nr = $SIGNALFD4{(POSIX::uname())[4]};
if (defined $nr && ($ARGV[1] // '') ne 'poll') {
  # signalfd4(-1, {SIGCHLD}, 8, SFD_CLOEXEC | SFD_NONBLOCK); syscall wants a writable buffer.
  my $mask = pack('Q', 1 << (POSIX::SIGCHLD() - 1));
  my $fd = syscall($nr, -1, $mask, 8, 0x80800);
  undef $signals unless $fd >= 0 && open($signals, '<&=', $fd);
}

sub out {
  my ($line) = @_;
  my $off = 0;
  while ($off < length $line) {
    my $n = syswrite(STDOUT, $line, length($line) - $off, $off);
    if (!defined $n) { next if $!{EINTR}; POSIX::_exit(0); }
    $off += $n;
  }
}

sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $seq = delete $running{$pid};
    out("X $seq $?\n") if defined $seq;
  }
}

sub launch {
  my ($seq, $nargs, $payload) = @_;
  my @fields = split /\0/, $payload, -1;
  pop @fields;
  my ($cwd, $file) = splice @fields, 0, 2;
  my @args = splice @fields, 0, $nargs;
  my @env = @fields;
  my @streams;
  for my $stream (1, 2) {
    my $s;
    socket($s, AF_UNIX, SOCK_STREAM, 0) or return out("F $seq " . ($! + 0) . "\n");
    connect($s, $addr) or return out("F $seq " . ($! + 0) . "\n");
    defined syswrite($s, "$token $seq $stream\n") or return out("F $seq " . ($! + 0) . "\n");
    push @streams, $s;
  }
  my ($status_r, $status_w);
  pipe($status_r, $status_w) or return out("F $seq " . ($! + 0) . "\n");
  my $pid = fork();
  return out("F $seq " . ($! + 0) . "\n") if !defined $pid;
  if ($pid == 0) {
    close $status_r;
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
    POSIX::setsid();
    my $null = POSIX::open("/dev/null", POSIX::O_RDONLY());
    if (defined $null && $null != 0) { POSIX::dup2($null, 0); POSIX::close($null); }
    POSIX::dup2(fileno($streams[0]), 1);
    POSIX::dup2(fileno($streams[1]), 2);
    if (chdir $cwd) {
      %ENV = ();
      for my $entry (@env) {
        my ($name, $value) = split /=/, $entry, 2;
        $ENV{$name} = $value;
      }
      { no warnings 'exec'; exec { $file } $file, @args; }
    }
    syswrite($status_w, $! + 0);
    POSIX::_exit(127);
  }
  close $status_w;
  close $_ for @streams;
  my $failed = '';
  while (1) {
    my $n = sysread($status_r, $failed, 16, length $failed);
    if (!defined $n) { next if $!{EINTR}; last; }
    last if $n == 0;
  }
  close $status_r;
  if ($failed ne '') {
    waitpid($pid, 0);
    return out("F $seq $failed\n");
  }
  $running{$pid} = $seq;
  out("S $seq $pid\n");
}

my $buffer = '';
while (1) {
  my $watched = '';
  vec($watched, 0, 1) = 1;
  vec($watched, fileno($signals), 1) = 1 if $signals;
  my $ready = select(my $readable = $watched, undef, undef, !$signals && %running ? 0.01 : undef);
  if ($ready < 0) { next if $!{EINTR}; last; }
  sysread($signals, my $drained, 1280) if $signals && vec($readable, fileno($signals), 1);
  reap();
  next unless vec($readable, 0, 1);
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
}
POSIX::_exit(0);
`;
