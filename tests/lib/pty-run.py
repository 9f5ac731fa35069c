#!/usr/bin/env python3
"""pty-run.py: run a command on a terminal of its own and answer it.

usage: pty-run.py -o transcript [-a REGEX=ANSWER]... [-i REGEX] cmd...

The command gets a new session whose controlling terminal is a fresh
pseudo-terminal, so /dev/tty is that terminal and nobody else's.  Each
-a answers the first prompt matching REGEX (in order) with ANSWER and
a return; -i types ^C when REGEX shows, after the answers before it.
Everything the terminal showed goes to the transcript.  Whether the
terminal echoes is printed as each prompt is answered ("echo off at
REGEX") and once the command has ended ("echo on"); the exit status is the command's (128 + N for a
signal N), or 124 when a prompt never came.
"""

import argparse
import os
import pty
import re
import select
import signal
import sys
import termios
import time

TIMEOUT = 30.0


def steps(args):
    """The (regex, bytes to type) pairs, in the order given."""
    out = [(re.compile(r.encode()), a.encode() + b"\r")
           for r, _, a in (x.partition("=") for x in args.answer)]
    if args.interrupt:
        out.append((re.compile(args.interrupt.encode()), b"\x03"))
    return out


def drain(master, transcript):
    """Copy what the terminal still holds once its writer is gone."""
    while select.select([master], [], [], 0.1)[0]:
        try:
            data = os.read(master, 4096)
        except OSError:
            return
        if not data:
            return
        transcript.write(data)


def echo(fd):
    """'echo on' or 'echo off', as the terminal is now."""
    return "echo on" if termios.tcgetattr(fd)[3] & termios.ECHO \
        else "echo off"


def drive(master, slave, pid, todo, transcript):
    """Read the terminal until the child ends, typing each answer once
    its prompt has shown.  Returns the child's wait status, or None
    when a prompt did not come in time."""
    seen, deadline = b"", time.time() + TIMEOUT
    while True:
        if todo and todo[0][0].search(seen):
            print("%s at %s" % (echo(slave), todo[0][0].pattern.decode()))
            os.write(master, todo.pop(0)[1])
            seen = b""
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            transcript.write(data)
            seen += data
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            drain(master, transcript)
            return status
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None


def main():
    """Run the command as the options say; exit as described above."""
    p = argparse.ArgumentParser()
    p.add_argument("-o", dest="out", required=True)
    p.add_argument("-a", dest="answer", action="append", default=[])
    p.add_argument("-i", dest="interrupt")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args()
    master, slave = pty.openpty()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.close(master)
        name = os.ttyname(slave)
        os.close(os.open(name, os.O_RDWR))  # becomes the ctty
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.execvp(args.cmd[0], args.cmd)
    with open(args.out, "wb") as transcript:
        status = drive(master, slave, pid, steps(args), transcript)
    print(echo(slave))
    if status is None:
        sys.exit(124)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
