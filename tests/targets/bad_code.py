"""A function whose code object strobe cannot read, beside one it can.

Points hidden()'s co_filename at a zeroed buffer (not a str: strobe must
call every sample inside hidden() failed, as "code object unreadable"),
says "ready", then alternates: STROBE_HIDDEN_S seconds (default 0.02) in
hidden(), the same in shown(), until STROBE_EXIT_AFTER seconds (default 2)
have passed; restores co_filename and exits 0.  The ready line carries the
share of the time hidden() ran (measured by the target itself).
"""
import ctypes
import os
import struct

import _common as c


def hidden(until):
    while c.now() < until: pass  # @hidden


def shown(until):
    while c.now() < until: pass  # @shown


def main():
    code = hidden.__code__
    raw = ctypes.string_at(id(code), 256)
    want = struct.pack("P", id(code.co_filename))
    at = [i for i in range(0, len(raw) - 7, 8) if raw[i:i + 8] == want]
    assert len(at) == 1, at
    junk = ctypes.create_string_buffer(256)      # all zeros: no str's state bits
    slot = ctypes.c_void_p.from_address(id(code) + at[0])
    keep = code.co_filename                     # stays referenced while replaced
    slot.value = ctypes.addressof(junk)
    step = c._float_env("STROBE_HIDDEN_S", "0.02")
    end = c.now() + c._float_env("STROBE_EXIT_AFTER", "2")
    c.signal("ready", __file__)
    spent = [0.0, 0.0]
    try:
        while c.now() < end:
            t = c.now()
            hidden(t + step)
            spent[0] += c.now() - t
            t = c.now()
            shown(t + step)
            spent[1] += c.now() - t
    finally:
        slot.value = id(keep)
    c.signal("done", hidden_share=spent[0] / sum(spent))


if __name__ == "__main__":
    main()  # @module
