/* main.c - dispatch to the subcommand; nothing else. */
#include "base/buf.h"
#include "cli.h"
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
	enum cli_command command;
	int (*fn)(const struct options *o);
} commands[] = {
	{ CMD_RUN, cmd_run },
	{ CMD_ATTACH, cmd_attach },
	{ CMD_REPLAY, cmd_replay },
	{ CMD_DUMP, cmd_dump },
};

int main(int argc, char **argv)
{
	struct options o;
	struct buf text = BUF_INIT;
	enum cli_result r = cli_parse(argc, argv, &o, &text);
	if (r == CLI_VERSION) {
		int rc = cmd_version(text.data ? text.data : "");
		buf_release(&text);
		return rc;
	}
	if (r == CLI_HELP) {
		fputs(text.data ? text.data : "", stdout);
		buf_release(&text);
		return 0;
	}
	if (r == CLI_USAGE) {
		fputs(text.data ? text.data : "", stderr);
		buf_release(&text);
		return 2;
	}
	buf_release(&text);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].command == o.command)
			return commands[i].fn(&o);
	fprintf(stderr, "strobe: no such command\n");
	return 2;
}
