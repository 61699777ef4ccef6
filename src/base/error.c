#include "base/error.h"

#include "base/buf.h"
#include "base/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *err_str(int code)
{
	switch (code) {
	case 0: return "success";
	case ERR_NOMEM: return "out of memory";
	case ERR_IO: return "input/output error";
	case ERR_NOPROC: return "no such process";
	case ERR_PERM: return "permission denied";
	case ERR_FAULT: return "bad address in target";
	case ERR_CORRUPT: return "inconsistent data";
	case ERR_NOTPY: return "not a Python process";
	case ERR_VERSION: return "unsupported Python version";
	case ERR_LIMIT: return "limit exceeded";
	case ERR_NOTFOUND: return "not found";
	case ERR_INVAL: return "invalid argument";
	case ERR_NOTREADY: return "Python runtime not initialised yet";
	}
	return "unknown error";
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void die_status(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("strobe: error: ", fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("strobe: warning: ", fmt, ap);
	va_end(ap);
}

void bug_at(const char *file, int line, const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "strobe: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}

void errmsg_set(struct errmsg *e, const char *fmt, ...)
{
	va_list ap;
	if (!e)
		return;
	/* the details are often the target's (a mapped file's path): shown
	 * with control characters escaped, cut at a character's start */
	char raw[2 * sizeof(e->text)];
	va_start(ap, fmt);
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1;
	struct buf b = BUF_INIT;
	utf8_term_escape(&b, raw, len, 0);
	len = utf8_cut(b.data, b.len, sizeof(e->text) - 1);
	if (len)
		memcpy(e->text, b.data, len);
	e->text[len] = '\0';
	buf_release(&b);
}
