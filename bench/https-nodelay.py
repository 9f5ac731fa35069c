#!/usr/bin/python3
"""https-nodelay.py: tests/lib/https-fixture.py with TCP_NODELAY.

usage: https-nodelay.py FIXTURE [https-fixture.py options]

The fixture answers in two writes, headers then body; on a kept-alive
connection Nagle's algorithm holds the second back until the client's
delayed ACK, 40 ms later, so a benchmark of the client would measure
that timer.  This loads the fixture unchanged and sets TCP_NODELAY on
each accepted socket, as the sandbox's fakes do, then runs its main().
It also writes "accept" and the client's port to stderr for each new
connection, so that a benchmark can count the TLS handshakes a client
made.
"""

import importlib.machinery
import importlib.util
import socket
import sys


def load(path):
    """The fixture as a module (its file name is not an identifier)."""
    loader = importlib.machinery.SourceFileLoader("https_fixture", path)
    spec = importlib.util.spec_from_loader("https_fixture", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def main():
    """Run the fixture's main() with the wrapped server class."""
    if len(sys.argv) < 2:
        sys.stderr.write("usage: https-nodelay.py FIXTURE [OPTIONS]\n")
        return 3
    mod = load(sys.argv[1])
    del sys.argv[1]

    class Server(mod.Server):
        """The fixture's server, with TCP_NODELAY and accept lines."""

        def get_request(self):
            sock, addr = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sys.stderr.write("accept %d\n" % addr[1])
            sys.stderr.flush()
            return sock, addr

    mod.Server = Server
    return mod.main()


if __name__ == "__main__":
    sys.exit(main())
