#!/usr/bin/env python3.15
"""Write a small, fixed binary profile that looks like a real program (a web
service: request handling, JSON, a database driver, template rendering,
GC, two worker threads), for the flame graph's screenshot test: the same
bytes every time, so the page and its picture are the same every time.
Uses CPython 3.15's _remote_debugging.BinaryWriter (Tachyon's writer):

    chroot /var/cache/strobe/sid python3.15 make_demo_profile.py OUT.bin
"""
import sys

import _remote_debugging as rd

APP = "/srv/shop/app"
LIB = "/usr/lib/python3.15"
SITE = "/usr/lib/python3/dist-packages"

# (stack root first as (file, func, line), samples per thread index)
STACKS = [
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 140), (APP + "/views.py", "checkout", 52),
      (APP + "/db.py", "Session.query", 77), (SITE + "/pgdriver/cursor.py", "Cursor.execute", 210),
      (SITE + "/pgdriver/protocol.py", "read_rows", 98)], (900, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 140), (APP + "/views.py", "checkout", 55),
      (APP + "/pricing.py", "total", 31), (APP + "/pricing.py", "apply_discounts", 19)], (620, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 140), (APP + "/views.py", "checkout", 58),
      (APP + "/render.py", "render", 40), (LIB + "/string/templatelib.py", "Template.format", 120),
      (APP + "/render.py", "escape", 12)], (410, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 143), (APP + "/views.py", "catalog", 80),
      (LIB + "/json/__init__.py", "dumps", 231), (LIB + "/json/encoder.py", "JSONEncoder.encode", 200),
      (LIB + "/json/encoder.py", "JSONEncoder.iterencode", 261)], (480, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 143), (APP + "/views.py", "catalog", 77),
      (APP + "/db.py", "Session.query", 77), (SITE + "/pgdriver/cursor.py", "Cursor.execute", 210),
      (SITE + "/pgdriver/protocol.py", "read_rows", 98)], (300, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 58),
      (APP + "/server.py", "Server.accept", 101), (LIB + "/socket.py", "socket.accept", 295)], (150, 0)),
    ([(APP + "/main.py", "<module>", 88), (APP + "/main.py", "serve", 61),
      (APP + "/server.py", "Server.handle", 140), ("~", "<GC>", 0)], (90, 0)),
    ([(LIB + "/threading.py", "Thread._bootstrap", 1181),
      (LIB + "/threading.py", "Thread._bootstrap_inner", 1219), (LIB + "/threading.py", "Thread.run", 1161),
      (APP + "/jobs.py", "worker", 24), (APP + "/jobs.py", "resize_image", 44),
      (SITE + "/imaging/filters.py", "lanczos", 310)], (0, 700)),
    ([(LIB + "/threading.py", "Thread._bootstrap", 1181),
      (LIB + "/threading.py", "Thread._bootstrap_inner", 1219), (LIB + "/threading.py", "Thread.run", 1161),
      (APP + "/jobs.py", "worker", 27), (APP + "/jobs.py", "send_mail", 61),
      (LIB + "/smtplib.py", "SMTP.send", 390)], (0, 260)),
]
TIDS = (4242, 4250)


def frame(file, func, line):
    loc = None if file == "~" else rd.LocationInfo((line, line, 4, 40))
    return rd.FrameInfo((file, loc, func, None))


def main():
    w = rd.BinaryWriter(sys.argv[1], 1000, 0, compression=0)
    t = 0
    # interleave the stacks so the file looks like a run, not sorted data
    left = [list(c) for _, c in STACKS]
    while any(any(c) for c in left):
        for i, (stack, _) in enumerate(STACKS):
            for ti, tid in enumerate(TIDS):
                if left[i][ti] == 0:
                    continue
                left[i][ti] -= 1
                frames = [frame(*f) for f in reversed(stack)]  # innermost first
                status = 1 | 2 if ti == 0 else 2  # has GIL + on CPU / on CPU
                t += 500
                w.write_sample([rd.InterpreterInfo((0, [rd.ThreadInfo((tid, status, frames))]))], t)
    w.finalize()


if __name__ == "__main__":
    main()
