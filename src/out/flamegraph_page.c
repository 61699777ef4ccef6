/* flamegraph_page.c - the flamegraph page's template, style sheet and
 * script (src/out/flamegraph/), embedded into the binary at build time so
 * that strobe writes a self-contained page without reading files of its own
 * (out/embed.h). */
#include "out/embed.h"
#include "out/flamegraph.h"

__asm__(OUT_EMBED(out_fg_page_html, "src/out/flamegraph/page.html")
	OUT_EMBED(out_fg_page_css, "src/out/flamegraph/page.css")
	OUT_EMBED(out_fg_page_js, "src/out/flamegraph/page.js"));
