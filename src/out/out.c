#include "out/out.h"

#include <string.h>

const struct out_format out_formats[] = {
	/* Tachyon prints nothing after writing a pstats file (-o FILE, or
	 * DIR/pstats_<pid>.pstats when -o is a directory). */
	{ "pstats", "pstats", out_pstats_write, NULL },
	{ "collapsed", "txt", out_collapsed_write, "Collapsed stack output written to %s" },
	/* streamed while sampling, by out/binary_writer.c */
	{ "binary", "bin", NULL, "Binary profile written to %s" },
	{ NULL, NULL, NULL, NULL },
};

const struct out_format *out_format_find(const char *name)
{
	for (const struct out_format *f = out_formats; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}
