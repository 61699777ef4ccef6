"""Parks in hold(), whose frame holds one local of each kind `strobe dump
--locals` shows (an int, a negative big int, a float, a str with a quote
and a non-ASCII character, bytes, True, None, a list of 3, a dict of 2, an
object of a class of its own, a cell variable that a closure reads), called
from outer() with an argument and a local of its own.  Says "ready" with
the line markers, then spins on @hold until the target timeout."""
import _common as c


class Custom:
    pass


def hold(arg):
    small = 42
    big = -12345678901234567890123456789
    ratio = 2.5
    text = "it's \u00fc"
    data = b"\x00ab'"
    flag = True
    nothing = None
    items = [1, 2, 3]
    table = {"a": 1, "b": 2}
    obj = Custom()
    cell = 7

    def reader():
        return cell

    long_text = "x" * 100
    c.signal("ready", __file__)
    while c.now() < c.END: pass  # @hold
    c.timed_out()
    return reader, small, big, ratio, text, data, flag, nothing, items, table, obj, long_text


def outer():
    mine = (1, 2)
    hold(-3)  # @outer


if __name__ == "__main__":
    outer()  # @module
