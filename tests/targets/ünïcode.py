# -*- coding: utf-8 -*-
"""Non-ASCII names in every string width CPython stores: latin-1 (1 byte per
character: this file's name, größe, Ünï.naïve), UCS-2 (計算) and UCS-4 (𠀀).

Expected stack: <module>@module größe@latin Ünï.naïve@method 計算@cjk 𠀀@leaf
"""
import _common as c


def 𠀀():
    c.signal("ready", __file__)
    while c.now() < c.END: pass  # @leaf
    c.timed_out()


def 計算():
    return 𠀀()  # @cjk


class Ünï:
    def naïve(self):
        return 計算()  # @method


def größe():
    return Ünï().naïve()  # @latin


if __name__ == "__main__":
    größe()  # @module
