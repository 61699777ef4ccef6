"""Print src/py/opcodes/py3_X.h for the CPython running this script.

    python3.X tools/gen_opcodes.py > src/py/opcodes/py3_X.h

Normally run through tools/gen_opcodes.sh, which picks the interpreters.
Standard library only, and it must run under the version it describes:
every number comes from that interpreter's own opcode/dis modules, never
from a table typed here.

What the header holds, per opcode value 0-255 (pseudo-ops, numbered 256 and
up since 3.12, never appear in bytecode and are left out):

  PY_OPNAMES_3_X   the name, for every value the version defines: base
                   opcodes, the specialized/adaptive ones the 3.11+
                   interpreter rewrites bytecode to (BINARY_OP_ADD_INT, ...)
                   and the 3.12+ INSTRUMENTED_* ones sys.monitoring plants.
  PY_OPBASE_3_X    for each specialized opcode, the base opcode it was
                   specialized from (what Tachyon calls "deopt"); values not
                   listed are 0, meaning "not specialized".  Instrumented
                   opcodes are not specializations and are not listed,
                   as in Tachyon's opcode_mapping.
  PY_OPCACHES_3_X  how many inline CACHE code units follow the opcode in
                   the bytecode: a specialized opcode has its base's, an
                   INSTRUMENTED_X opcode has X's (instrumentation rewrites
                   the opcode in place); 0 when not listed.
                   INSTRUMENTED_LINE and INSTRUMENTED_INSTRUCTION hide the
                   original opcode in a side table, so their 0 is not the
                   real length.

Where the numbers come from:
  3.8-3.10  opcode.opmap; no specialization, no caches.
  3.11-3.12 opcode.opmap (3.12: with INSTRUMENTED_*), specialized opcodes
            from dis._all_opmap (dis numbers opcode._specialized_instructions
            into the free slots, exactly as the C opcode.h generator does),
            families from opcode._specializations, caches from the
            256-entry list opcode._inline_cache_entries.
  3.13+     opcode.opmap / opcode._specialized_opmap /
            opcode._specializations (re-exported from _opcode_metadata,
            generated from Python/bytecodes.c); caches from the
            name-keyed mapping opcode._inline_cache_entries.
"""

import dis
import opcode
import sys

# Instrumented opcodes are recognised by name: MIN_INSTRUMENTED_OPCODE is
# not a clean bound (3.14 puts ENTER_EXECUTOR at 255, above it).
INSTRUMENTED_PREFIX = "INSTRUMENTED_"


class GenError(Exception):
    pass


def base_opmap():
    """{name: op} of the opcodes the compiler (or sys.monitoring) emits."""
    return {name: op for name, op in opcode.opmap.items() if 0 <= op < 256}


def specialized_opmap():
    """{name: op} of the specialized/adaptive opcodes (empty before 3.11)."""
    spec = getattr(opcode, "_specialized_opmap", None)  # 3.13+
    if spec is not None:
        return dict(spec)
    allmap = getattr(dis, "_all_opmap", None)  # 3.11, 3.12
    if allmap is None:
        return {}
    # dis adds the specialized ones to opcode.opmap (pseudo-ops included).
    return {name: op for name, op in allmap.items() if name not in opcode.opmap}


def families():
    """{base name: [specialized names]} (empty before 3.11)."""
    return {b: list(v) for b, v in getattr(opcode, "_specializations", {}).items()}


def cache_counts(base):
    """{base name: inline cache entries}; only names with a nonzero count."""
    entries = getattr(opcode, "_inline_cache_entries", None)
    if entries is None:  # 3.8-3.10
        return {}
    if hasattr(entries, "items"):  # 3.13+: dict (3.15: frozendict) by name
        return {name: n for name, n in entries.items() if n}
    # 3.11, 3.12: a list indexed by base opcode.
    return {name: entries[op] for name, op in base.items() if entries[op]}


def build():
    base = base_opmap()
    spec = specialized_opmap()
    fams = families()
    caches = cache_counts(base)

    names = {}
    for name, op in list(base.items()) + list(spec.items()):
        if not 0 <= op < 256:
            raise GenError("opcode %s = %d is not a byte" % (name, op))
        if op in names:
            raise GenError("opcodes %s and %s are both %d" % (names[op], name, op))
        names[op] = name

    # Every defined name opcode.opname knows must agree with ours.
    for op, name in enumerate(opcode.opname[:256]):
        if name != "<%d>" % op and names.get(op) != name:
            raise GenError("opcode.opname[%d] is %s, tables say %s" % (op, name, names.get(op)))

    bases = {}
    for fam_base, members in fams.items():
        if fam_base not in base:
            raise GenError("specialization family %s has no base opcode" % fam_base)
        for member in members:
            if member not in spec:
                raise GenError("%s (family %s) has no opcode number" % (member, fam_base))
            if spec[member] in bases:
                raise GenError("%s is in two families" % member)
            bases[spec[member]] = base[fam_base]
    orphans = sorted(set(spec.values()) - set(bases))
    if orphans:
        raise GenError("specialized opcodes without a family: %s"
                       % ", ".join(names[op] for op in orphans))
    if 0 in bases.values():
        raise GenError("a family's base is opcode 0, which the header uses as 'none'")

    ncache = {}
    for op, name in names.items():
        if op in bases:
            key = names[bases[op]]
        elif name.startswith(INSTRUMENTED_PREFIX):
            key = name[len(INSTRUMENTED_PREFIX):]
        else:
            key = name
        if caches.get(key):
            ncache[op] = caches[key]
    unknown = sorted(set(caches) - set(base))
    if unknown:
        raise GenError("cache counts for unknown opcodes: %s" % ", ".join(unknown))

    return names, bases, ncache, fams


def c_string(s):
    if not s.replace("_", "").isalnum() or not s.isascii():
        raise GenError("opcode name %r is not a C identifier" % s)
    return '"%s"' % s


def macro(name, lines):
    """#define NAME { line, \\ ... } with one designated initialiser a line."""
    out = ["#define %s { \\" % name]
    out += ["\t%s \\" % line for line in lines] or ["\t0 \\"]
    out.append("}")
    return "\n".join(out)


def header(names, bases, ncache, fams):
    minor = sys.version_info.minor
    ver = "3_%d" % minor
    guard = "STROBE_PY_OPCODES_PY3_%d_H" % minor
    ninstr = sum(1 for n in names.values() if n.startswith(INSTRUMENTED_PREFIX))
    nbase = len(names) - len(bases) - ninstr

    name_lines = ["[%d] = %s," % (op, c_string(names[op])) for op in sorted(names)]
    base_lines = ["[%d] = %d, /* %s (%s) */" % (op, bases[op], names[op], names[bases[op]])
                  for op in sorted(bases)]
    cache_lines = ["[%d] = %d, /* %s */" % (op, ncache[op], names[op]) for op in sorted(ncache)]

    parts = [
        "/* generated by tools/gen_opcodes.sh from Python %s's opcode module; do not edit */"
        % sys.version.split()[0],
        "#ifndef %s" % guard,
        "#define %s" % guard,
        "",
        "/* %d opcodes: %d base, %d specialized in %d families, %d instrumented;"
        % (len(names), nbase, len(bases), len(fams), ninstr),
        " * pseudo-opcodes (>= 256) left out.  Initialisers for src/py/opcodes.c:",
        " *   PY_OPNAMES_%s   name of each opcode value (absent = undefined)" % ver,
        " *   PY_OPBASE_%s    base opcode of each specialized one (absent = 0 = itself)" % ver,
        " *   PY_OPCACHES_%s  inline CACHE units after the opcode (absent = 0) */" % ver,
        "",
        macro("PY_OPNAMES_" + ver, name_lines),
        "",
        macro("PY_OPBASE_" + ver, base_lines),
        "",
        macro("PY_OPCACHES_" + ver, cache_lines),
        "",
        "#endif",
        "",
    ]
    return "\n".join(parts)


def main():
    if sys.version_info < (3, 8):
        sys.stderr.write("gen_opcodes.py: Python %s is older than 3.8\n" % sys.version.split()[0])
        return 1
    try:
        text = header(*build())
    except GenError as e:
        sys.stderr.write("gen_opcodes.py (Python %s): %s\n" % (sys.version.split()[0], e))
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
