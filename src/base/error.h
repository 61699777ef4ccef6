/* error.h - error codes and the whole reporting vocabulary of strobe.
 *
 * Lower layers return 0 or a negative ERR_* code and never print.  Only the
 * command layer (main.c, cmd/, profiling/) calls die(); anyone may call
 * warn() for a condition the user should see once, and BUG() for a broken
 * invariant.
 */
#ifndef STROBE_BASE_ERROR_H
#define STROBE_BASE_ERROR_H

enum {
	ERR_NOMEM = -1,    /* allocation failed */
	ERR_IO = -2,       /* a local file or pipe failed */
	ERR_NOPROC = -3,   /* the target process (or thread) does not exist any more */
	ERR_PERM = -4,     /* not allowed to read the target */
	ERR_FAULT = -5,    /* a remote read failed: unmapped or torn memory */
	ERR_CORRUPT = -6,  /* data read is inconsistent (torn sample, hostile input) */
	ERR_NOTPY = -7,    /* the process is not a (recognised) CPython */
	ERR_VERSION = -8,  /* a CPython version strobe does not support */
	ERR_LIMIT = -9,    /* a bound was hit (too many frames, too long a string) */
	ERR_NOTFOUND = -10,/* a file, symbol or section was not found */
	ERR_INVAL = -11,   /* bad argument or malformed input */
	ERR_NOTREADY = -12,/* the runtime exists but is not initialised yet */
};

/* Short English description of an ERR_* code ("no such process"). */
const char *err_str(int code);

/* Print "fmt\n" to stderr and exit(1).  Only for the command layer. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fmt\n" to stderr and exit(status). */
_Noreturn void die_status(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "strobe: error: fmt\n" / "strobe: warning: fmt\n" to stderr. */
void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken invariant: print where and abort. */
#define BUG(msg) bug_at(__FILE__, __LINE__, (msg))
_Noreturn void bug_at(const char *file, int line, const char *msg);

/* A short message buffer a lower layer fills to explain a failure in detail
 * (e.g. which version was found).  The command layer prints it.  Its text
 * may quote the target (a mapped file's path): errmsg_set shows control
 * characters and backslashes escaped (utf8_term_escape), so the text is
 * safe for a terminal; messages are one line. */
struct errmsg {
	char text[512];
};
void errmsg_set(struct errmsg *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
