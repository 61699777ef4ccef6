/* flamegraph_page.c - the flamegraph page's template, style sheet and
 * script (src/out/flamegraph/), embedded into the binary at build time so
 * that strobe writes a self-contained page without reading files of its own.
 *
 * The assembler's .incbin pulls the files in (paths are relative to the
 * repository root, where make runs the compiler); the Makefile makes this
 * object depend on them.  Each is followed by a NUL. */
#include "out/flamegraph.h"

#define FG_EMBED(sym, file)                                  \
	".section .rodata." #sym ",\"a\",@progbits\n"        \
	".global " #sym "\n"                                  \
	".hidden " #sym "\n"                                  \
	".type " #sym ", @object\n"                           \
	".balign 16\n"                                        \
	#sym ":\n"                                            \
	".incbin \"" file "\"\n"                              \
	".byte 0\n"                                           \
	".size " #sym ", . - " #sym "\n"                      \
	".previous\n"

__asm__(FG_EMBED(out_fg_page_html, "src/out/flamegraph/page.html")
	FG_EMBED(out_fg_page_css, "src/out/flamegraph/page.css")
	FG_EMBED(out_fg_page_js, "src/out/flamegraph/page.js"));
