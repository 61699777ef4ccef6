/* static_nodl.c - linked into build/strobe-static only (make static), with
 * -Wl,--wrap=dlopen: every dlopen of the program (the only one is libdw's
 * debuginfod client, which strobe never reaches: it gives libdw its own file
 * finders) refuses instead of loading a shared object, which a static glibc
 * program must not do - the object would bring a second C library. */
#include <stddef.h>

void *__wrap_dlopen(const char *file, int mode);

void *__wrap_dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return NULL;
}
