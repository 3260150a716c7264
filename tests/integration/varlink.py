#!/usr/bin/env python3
"""A minimal varlink client, with nothing but Python's standard library.

It shows that cmld speaks plain varlink (JSON objects terminated by a NUL
byte over a Unix stream socket) without any of cml's own code, and lets the
integration tests send exactly the bytes they want.

As a program:
  varlink.py [--timeout S] SOCKET call METHOD [PARAMETERS-JSON] [--pass PATH]...
      prints the reply message as one line of JSON; exit 0 for a reply,
      1 for an error reply, 3 when there was no reply; every --pass opens
      PATH (for reading, without blocking; a socket as O_PATH) and passes
      it with the call (SCM_RIGHTS), the first as descriptor 0
  varlink.py [--timeout S] SOCKET info
      prints the interfaces of GetInfo, one per line
  varlink.py [--timeout S] SOCKET describe INTERFACE
      prints GetInterfaceDescription's text
  varlink.py [--timeout S] SOCKET send [--no-read]
      sends standard input as it is, then prints every reply as one line of
      JSON and ends with a line EOF (the server closed the connection) or
      TIMEOUT (it kept it open); --no-read closes at once after sending
As a module: Connection(path).call(method, params) and friends.
"""

import errno
import json
import os
import socket
import sys


def open_pass(path):
    """Opens what a client passes: for reading, never blocking on it."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        if e.errno != errno.ENXIO:
            raise
        return os.open(path, os.O_PATH)


class ProtocolError(Exception):
    """The peer sent something that is not a varlink message."""


class Connection:
    """One client connection to a varlink service on a Unix socket."""

    def __init__(self, path, timeout=10.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""
        self.eof = False
        self.fds = []  # passed with the replies received so far

    def send_raw(self, data):
        """Sends bytes; returns False if the peer had closed already."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send(self, method, parameters=None, fds=(), **flags):
        """Sends a call, passing descriptors fds with its first byte (as
        cml's clients and systemd's varlink do); returns False if the peer
        had closed already."""
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        msg.update(flags)
        data = json.dumps(msg).encode() + b"\0"
        if not fds:
            return self.send_raw(data)
        try:
            n = socket.send_fds(self.sock, [data], list(fds))
            return self.send_raw(data[n:])
        except (BrokenPipeError, ConnectionResetError):
            return False

    def recv(self):
        """Returns the next message as a dict, or None when the peer closed.

        Raises socket.timeout when nothing complete arrives in time and
        ProtocolError for bytes that are not a JSON object."""
        while b"\0" not in self.buf:
            if self.eof:
                if self.buf:
                    raise ProtocolError("connection closed inside a message")
                return None
            try:
                chunk, fds, _, _ = socket.recv_fds(self.sock, 65536, 32)
                self.fds.extend(fds)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                continue
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        try:
            msg = json.loads(raw.decode())
        except ValueError as e:
            raise ProtocolError("reply is not JSON: %s: %r" % (e, raw[:200]))
        if not isinstance(msg, dict):
            raise ProtocolError("reply is not a JSON object: %r" % raw[:200])
        return msg

    def closed_by_peer(self, timeout=5.0):
        """Returns True if the peer closes (with no further message) in time."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            return self.recv() is None
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(old)

    def call(self, method, parameters=None, fds=()):
        """Sends a call and returns its reply (None if the peer closed)."""
        self.send(method, {} if parameters is None else parameters, fds)
        return self.recv()

    def close(self):
        self.sock.close()


def call_once(path, method, parameters=None, timeout=10.0):
    """Connects, calls, returns the reply, closes."""
    c = Connection(path, timeout)
    try:
        return c.call(method, parameters)
    finally:
        c.close()


def main(argv):
    timeout = 10.0
    args = list(argv)
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    path, verb, rest = args[0], args[1], args[2:]
    try:
        conn = Connection(path, timeout)
    except OSError as e:
        print("varlink.py: cannot connect to %s: %s" % (path, e.strerror or e),
              file=sys.stderr)
        return 3
    try:
        paths = []
        while len(rest) >= 2 and rest[-2] == "--pass":
            paths.insert(0, rest[-1])
            rest = rest[:-2]
        if verb == "call" and len(rest) in (1, 2):
            params = json.loads(rest[1]) if len(rest) == 2 else {}
            fds = [open_pass(p) for p in paths]
            reply = conn.call(rest[0], params, fds)
            for fd in fds:
                os.close(fd)
            if reply is None:
                print("varlink.py: connection closed without a reply",
                      file=sys.stderr)
                return 3
            print(json.dumps(reply))
            return 1 if "error" in reply else 0
        if verb == "info" and not rest:
            reply = conn.call("org.varlink.service.GetInfo")
            if reply is None or "error" in reply:
                print("varlink.py: GetInfo failed: %r" % reply,
                      file=sys.stderr)
                return 1
            for name in reply["parameters"]["interfaces"]:
                print(name)
            return 0
        if verb == "describe" and len(rest) == 1:
            reply = conn.call("org.varlink.service.GetInterfaceDescription",
                              {"interface": rest[0]})
            if reply is None or "error" in reply:
                print(json.dumps(reply))
                return 1
            sys.stdout.write(reply["parameters"]["description"])
            return 0
        if verb == "send" and rest in ([], ["--no-read"]):
            ok = conn.send_raw(sys.stdin.buffer.read())
            if rest == ["--no-read"]:
                return 0 if ok else 1
            while True:
                try:
                    msg = conn.recv()
                except socket.timeout:
                    print("TIMEOUT")
                    return 0
                if msg is None:
                    print("EOF")
                    return 0
                print(json.dumps(msg))
        sys.stderr.write(__doc__)
        return 2
    except (ProtocolError, socket.timeout, OSError) as e:
        print("varlink.py: %s" % (e or type(e).__name__), file=sys.stderr)
        return 3
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
