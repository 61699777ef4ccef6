"""A small TCP server on 127.0.0.1 (port chosen by the kernel, sent in the
ready message).  Each request is a line with a loop count; the handler burns
that many iterations in work() and answers "ok".  The main thread serves one
request at a time, so every sample of it starts <module>@module main@serve."""
import socketserver

import _common as c


def work(n):
    for _ in range(n): pass  # @work


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        n = int(self.rfile.readline() or 0)
        work(n)  # @handle
        self.wfile.write(b"ok\n")


class Server(socketserver.TCPServer):
    allow_reuse_address = True
    timeout = 0.2


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    c.signal("ready", __file__, port=srv.server_address[1])
    while c.now() < c.END:
        srv.handle_request()  # @serve
    srv.server_close()
    c.timed_out()


if __name__ == "__main__":
    main()  # @module
