#!/usr/bin/env python3
"""Run one shell command inside a test guest through its command agent.

    agent.py SOCKET TIMEOUT COMMAND

SOCKET is the unix socket of the guest's second serial port (QEMU is the
server, see tests/vm/guest.sh); the protocol is described in tests/vm/init.
Prints the command's output and exits with its exit status; 124 when no
answer came within TIMEOUT seconds, 125 when the agent cannot be reached.
"""
import base64
import os
import socket
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 125
    path, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    script = base64.b64encode(cmd.encode()).decode()
    # the guest's tty buffer holds 4096 bytes; raw mode has no flow control
    if len(script) > 3500:
        sys.stderr.write("agent.py: command too long (%d bytes encoded)\n" % len(script))
        return 125
    tag = os.urandom(8).hex()
    begin = ("VSX_BEGIN %s\n" % tag).encode()
    end = ("\nVSX_END %s " % tag).encode()
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.connect(path)
    except OSError as e:
        sys.stderr.write("agent.py: cannot connect to %s: %s\n" % (path, e))
        return 125
    s.sendall(("VSX %s %s\n" % (tag, script)).encode())
    buf = b""
    while True:
        i = buf.find(begin)
        if i >= 0:
            j = buf.find(end, i + len(begin))
            if j >= 0:
                k = buf.find(b"\n", j + len(end))
                if k >= 0:
                    out = buf[i + len(begin):j]
                    rc = int(buf[j + len(end):k].strip() or b"255")
                    sys.stdout.buffer.write(out)
                    return rc
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stderr.write("agent.py: no answer within %gs to: %s\n" % (timeout, cmd))
            return 124
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            sys.stderr.write("agent.py: guest closed the connection\n")
            return 125
        buf += data


if __name__ == "__main__":
    sys.exit(main())
