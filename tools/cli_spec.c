/* cli_spec.c - print strobe's command-line grammar (cli_describe() of
 * src/cli.c: commands, positionals, every option of each command with its
 * metavar, choices and help) for tools/gen_cli_docs.py, which writes the man
 * page's option list and the bash, zsh and fish completions from it.  Built
 * from the same objects as strobe, so the generated files cannot drift from
 * the parser.
 *
 *   build/tools/cli_spec > build/cli.spec
 */
#include <stdio.h>

#include "base/buf.h"
#include "cli.h"

int main(void)
{
	struct buf b = BUF_INIT;
	cli_describe(&b);
	int ok = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0;
	buf_release(&b);
	if (!ok) {
		perror("cli_spec: write");
		return 1;
	}
	return 0;
}
