/* pymodule.h - the module a source file path names, and what kind of file
 * it is, as Tachyon's module_utils.extract_module_name says (shared by the
 * flamegraph's labels and the heat map's index).
 *
 * Tachyon asks the sys.path of the Python it runs on; strobe answers for
 * the profiled file's own Python, from the path alone:
 * - stdlib: below the innermost ".../lib/pythonX.Y[t]" directory that
 *   holds os.py (Path(os.__file__).parent); checked first, as Tachyon does,
 *   so a site-packages inside it is named "site-packages.pkg.mod";
 * - site-packages: below the innermost site-packages or dist-packages;
 * - project: below the working directory (sys.path[0] of
 *   `python -m profiling.sampling`);
 * - other: anything else, relative paths included, named by the whole path.
 * The name is _path_to_module's: the parts joined by ".", a ".py" suffix
 * and a final "__init__" dropped ("__init__" alone stays), the root
 * dropped; an empty path is "unknown".
 */
#ifndef STROBE_FORMAT_PYMODULE_H
#define STROBE_FORMAT_PYMODULE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/hash.h"

struct buf;

enum pymod_kind { PYMOD_PROJECT, PYMOD_STDLIB, PYMOD_SITE, PYMOD_OTHER, PYMOD_KINDS };

/* Does the file at path (absolute, NUL-terminated) exist? */
typedef bool (*pymod_exists_fn)(const void *ctx, const char *path);

struct pymod {
	char *cwd;              /* owned copy, or NULL: no project files */
	pymod_exists_fn exists; /* NULL: every lib/pythonX.Y is a stdlib */
	const void *ctx;
	struct u64map stdlib_ok; /* hash of a lib/pythonX.Y path -> holds os.py */
};

/* cwd may be NULL; it is copied. */
void pymod_init(struct pymod *m, const char *cwd, pymod_exists_fn exists, const void *ctx);
void pymod_release(struct pymod *m);

/* The module name of path[0..n) into mod (reset first) and its kind. */
enum pymod_kind pymod_name(struct pymod *m, const char *path, size_t n, struct buf *mod);

/* "python3.12" or "python3.13t" */
bool pymod_is_python_dir(const char *s, size_t n);

/* A pymod_exists_fn for the writers: ctx is the struct out_request, the
 * file is looked up where out_source_read() reads sources. */
bool pymod_source_exists(const void *req, const char *path);

#endif
