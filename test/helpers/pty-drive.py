#!/usr/bin/env python3
"""Runs a command under a new pseudo-terminal (24x80) as a user's shell would, then talks to it:
waits for a shell prompt, asks `stty size`, resizes the terminal to 40x100 (the kernel sends the
command SIGWINCH), asks again, and exits the shell with code 3. Prints one JSON line: the
command's exit code and everything it wrote."""
import fcntl, json, os, select, struct, subprocess, sys, termios, time

def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

master, slave = os.openpty()
winsize(slave, 24, 80)

def ctty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)

proc = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=ctty, close_fds=True)
os.close(slave)
out = b''

def read_until(pattern, timeout=30):
    global out
    deadline = time.time() + timeout
    while pattern.encode() not in out:
        left = deadline - time.time()
        if left <= 0:
            raise SystemExit(json.dumps({'error': 'timeout waiting for %r' % pattern, 'output': out.decode('utf8', 'replace')}))
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                b = os.read(master, 4096)
            except OSError:
                b = b''
            if not b:
                raise SystemExit(json.dumps({'error': 'eof waiting for %r' % pattern, 'output': out.decode('utf8', 'replace')}))
            out += b

read_until('# ')
os.write(master, b'stty size\n')
read_until('24 80')
winsize(master, 40, 100)
time.sleep(1)
os.write(master, b'stty size\n')
read_until('40 100')
os.write(master, b'exit 3\n')
deadline = time.time() + 30
while proc.poll() is None and time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            out += os.read(master, 4096)
        except OSError:
            pass
if proc.poll() is None:
    proc.kill()
print(json.dumps({'exit': proc.wait(), 'output': out.decode('utf8', 'replace')}))
