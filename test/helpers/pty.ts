// A command in a pseudo-terminal, without native modules: python3's pty
// module runs it (100 columns, so spinners spin) and relays bytes both ways.
// What the test writes to `input` reaches the terminal as typed keys: "\x03"
// is Ctrl-C, which the terminal turns into SIGINT for the foreground group.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const RELAY = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
inp = sys.stdin.fileno()
while True:
    r, _, _ = select.select([fd, inp], [], [])
    if inp in r:
        data = os.read(inp, 1024)
        if data:
            os.write(fd, data)
        else:
            inp = -1
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
_, status = os.waitpid(pid, 0)
sys.stderr.write('pty-exit %d\\n' % (os.waitstatus_to_exitcode(status)))
`;

export const hasPython3Pty = (): boolean => spawnSync('python3', ['-c', 'import pty, termios, fcntl'], { stdio: 'ignore' }).status === 0;

export interface PtyRun {
  child: ChildProcess;
  /** everything the terminal showed so far */
  output: () => string;
  /** type into the terminal */
  type: (s: string) => void;
  /** the command's exit code (128 + n when a signal n ended it) */
  exited: Promise<number | null>;
}

export function runInPty(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): PtyRun {
  const child = spawn('python3', ['-c', RELAY, ...argv], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', () => {
      const m = /pty-exit (-?\d+)/.exec(err);
      resolve(m ? Number(m[1]) : null);
    }),
  );
  return { child, output: () => out + err, type: (s) => child.stdin!.write(s), exited };
}
