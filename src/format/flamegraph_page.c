/* flamegraph_page.c - the flamegraph page's template, style sheet and
 * script (src/format/flamegraph/), embedded into the binary at build time so
 * that strobe writes a self-contained page without reading files of its own
 * (format/embed.h). */
#include "format/embed.h"
#include "format/flamegraph.h"

__asm__(OUT_EMBED(out_fg_page_html, "src/format/flamegraph/page.html")
	OUT_EMBED(out_fg_page_css, "src/format/flamegraph/page.css")
	OUT_EMBED(out_fg_page_js, "src/format/flamegraph/page.js"));
