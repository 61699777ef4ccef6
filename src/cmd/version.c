/* version.c - strobe --version: the version, then what this build can do
 * and which libraries it runs with.  The library versions are asked of the
 * libraries themselves at run time (the ones actually loaded, which a
 * distribution may have upgraded since strobe was built); the CPython range
 * is the layout table's. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <sys/auxv.h>

#include <bpf/libbpf.h>
#include <curses.h>
#include <elfutils/libdwfl.h>
#include <zlib.h>
#include <zstd.h>

#include "py/layout.h"

#if defined(__x86_64__)
#define ARCH "x86-64"
#elif defined(__aarch64__)
#define ARCH "arm64"
#else
#define ARCH "an unknown architecture"
#endif

int cmd_version(const char *first_line)
{
	int min_minor, max_minor;
	py_layout_range(&min_minor, &max_minor);
	const char *dw = dwfl_version(NULL);
	fputs(first_line, stdout);
	printf("built with: libdw %s (--native-stacks), libiberty (C++/Rust demangling), "
	       "libzstd %s (--binary), zlib %s (--pprof), %s (--live), libbpf %s (--engine bpf)\n",
	       dw ? dw : "(unknown)", ZSTD_versionString(), zlibVersion(), curses_version(),
	       libbpf_version_string());
	/* no program interpreter (AT_BASE 0): make static's build */
	printf("CPython 3.%d-3.%d, " ARCH ", %s\n", min_minor, max_minor,
	       getauxval(AT_BASE) ? "dynamically linked" : "statically linked");
	return fflush(stdout) == 0 ? 0 : 1;
}
