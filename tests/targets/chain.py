"""A fixed call chain through a method, a closure, a nested class's
staticmethod and a lambda; the leaf holds still on one line.

Expected stack, root first (co_qualname on 3.11+, co_name before):
  <module>@module  main@main  Outer.method@method
  Outer.method.<locals>.inner@inner  Outer.Nested.static@lambda
  Outer.Nested.static.<locals>.<lambda>@lambda  leaf@leaf
"""
import _common as c


def leaf():
    c.signal("ready", __file__)
    while c.now() < c.END: pass  # @leaf
    c.timed_out()


class Outer:
    class Nested:
        @staticmethod
        def static():
            return (lambda: leaf())()  # @lambda

    def method(self):
        def inner():
            return Outer.Nested.static()  # @inner
        return inner()  # @method


def main():
    Outer().method()  # @main


if __name__ == "__main__":
    main()  # @module
