/* test_pymodule.c - module names and kinds of file paths.
 *
 * The expectations are what Tachyon's module_utils.extract_module_name
 * returns when the path's own Python is asked: its os.__file__ directory as
 * the stdlib, its site-packages, the working directory as sys.path[0]. */
#include "harness.h"

#include "base/buf.h"
#include "format/pymodule.h"

#include <stdlib.h>
#include <string.h>

static int probes;

/* os.py exists in /usr/lib/python3.12 and /opt/py/lib/python3.13t only */
static bool fake_exists(const void *ctx, const char *path)
{
	(void)ctx;
	probes++;
	return strcmp(path, "/usr/lib/python3.12/os.py") == 0 ||
	       strcmp(path, "/opt/py/lib/python3.13t/os.py") == 0;
}

static struct pymod m;
static struct buf mod = BUF_INIT;

#define CHECK_MOD(path, want_kind, want)                                      \
	do {                                                                      \
		enum pymod_kind k_ = pymod_name(&m, path, strlen(path), &mod);        \
		buf_putc(&mod, '\0');                                                 \
		CHECK_STR(mod.data, want);                                            \
		CHECK_EQ_INT(k_, want_kind);                                          \
	} while (0)

TEST(python_dir)
{
	CHECK(pymod_is_python_dir("python3.12", 10));
	CHECK(pymod_is_python_dir("python3.13t", 11));
	CHECK(pymod_is_python_dir("python10.1", 10));
	CHECK(!pymod_is_python_dir("python3", 7));
	CHECK(!pymod_is_python_dir("python3.", 8));
	CHECK(!pymod_is_python_dir("python3.x1", 10));
	CHECK(!pymod_is_python_dir("python.12", 9));
	CHECK(!pymod_is_python_dir("python3.12d", 11));
	CHECK(!pymod_is_python_dir("python3.12tt", 12));
	CHECK(!pymod_is_python_dir("jython3.12", 10));
}

TEST(kinds)
{
	pymod_init(&m, "/home/u/proj", fake_exists, NULL);
	CHECK_MOD("/usr/lib/python3.12/json/decoder.py", PYMOD_STDLIB, "json.decoder");
	CHECK_MOD("/usr/lib/python3.12/json/__init__.py", PYMOD_STDLIB, "json");
	CHECK_MOD("/opt/py/lib/python3.13t/threading.py", PYMOD_STDLIB, "threading");
	/* a site-packages inside the stdlib directory: stdlib first, as Tachyon */
	CHECK_MOD("/usr/lib/python3.12/site-packages/pkg/m.py", PYMOD_STDLIB,
		  "site-packages.pkg.m");
	/* a venv's lib/pythonX.Y has no os.py */
	CHECK_MOD("/home/u/proj/venv/lib/python3.12/site-packages/pkg/m.py", PYMOD_SITE, "pkg.m");
	CHECK_MOD("/usr/lib/python3/dist-packages/six.py", PYMOD_SITE, "six");
	CHECK_MOD("/usr/local/lib/python3.11/dist-packages/a/__init__.py", PYMOD_SITE, "a");
	/* "lib" must be the whole part */
	CHECK_MOD("/x/mylib/python3.12/a.py", PYMOD_OTHER, "x.mylib.python3.12.a");
	CHECK_MOD("/home/u/proj/app/main.py", PYMOD_PROJECT, "app.main");
	CHECK_MOD("/home/u/proj//./app/run.py", PYMOD_PROJECT, "app.run");
	CHECK_MOD("/home/u/project/x.py", PYMOD_OTHER, "home.u.project.x");
	CHECK_MOD("/opt/tool/x.py", PYMOD_OTHER, "opt.tool.x");
	/* relative paths are below no sys.path entry */
	CHECK_MOD("lib/python3.12/site-packages/x.py", PYMOD_OTHER,
		  "lib.python3.12.site-packages.x");
	CHECK_MOD("script.py", PYMOD_OTHER, "script");
	CHECK_MOD("", PYMOD_OTHER, "unknown");
	pymod_release(&m);
}

TEST(names)
{
	pymod_init(&m, NULL, fake_exists, NULL);
	CHECK_MOD("/home/u/proj/app/main.py", PYMOD_OTHER, "home.u.proj.app.main");
	CHECK_MOD("/a/__init__.py", PYMOD_OTHER, "a");
	CHECK_MOD("__init__.py", PYMOD_OTHER, "__init__");
	CHECK_MOD("/usr/lib/python3.12/site-packages/__init__.py", PYMOD_STDLIB, "site-packages");
	CHECK_MOD("/a/b.pyc", PYMOD_OTHER, "a.b.pyc");
	CHECK_MOD("/a/.py", PYMOD_OTHER, "a..py");
	CHECK_MOD("/a/b.c.py", PYMOD_OTHER, "a.b.c");
	CHECK_MOD("/a/b.pyw", PYMOD_OTHER, "a.b.pyw");
	pymod_release(&m);
}

TEST(stdlib_probe_cached)
{
	pymod_init(&m, NULL, fake_exists, NULL);
	probes = 0;
	CHECK_MOD("/usr/lib/python3.12/a.py", PYMOD_STDLIB, "a");
	CHECK_MOD("/usr/lib/python3.12/b.py", PYMOD_STDLIB, "b");
	CHECK_MOD("/srv/lib/python3.9/c.py", PYMOD_OTHER, "srv.lib.python3.9.c");
	CHECK_MOD("/srv/lib/python3.9/d.py", PYMOD_OTHER, "srv.lib.python3.9.d");
	CHECK_EQ_INT(probes, 2);
	pymod_release(&m);
	/* no probe: every lib/pythonX.Y is a standard library */
	pymod_init(&m, "/", NULL, NULL);
	CHECK_MOD("/srv/lib/python3.9/c.py", PYMOD_STDLIB, "c");
	/* a working directory of "/" holds every absolute path */
	CHECK_MOD("/srv/x.py", PYMOD_PROJECT, "srv.x");
	pymod_release(&m);
}

TEST(deep_path)
{
	pymod_init(&m, NULL, fake_exists, NULL);
	struct buf p = BUF_INIT;
	for (int i = 0; i < 600; i++)
		buf_puts(&p, "/d");
	buf_puts(&p, "/x.py");
	enum pymod_kind k = pymod_name(&m, p.data, p.len, &mod);
	CHECK_EQ_INT(k, PYMOD_OTHER);
	CHECK(mod.len == p.len && memcmp(mod.data, p.data, p.len) == 0);
	buf_release(&p);
	pymod_release(&m);
}

int main(void)
{
	RUN(python_dir);
	RUN(kinds);
	RUN(names);
	RUN(stdlib_probe_cached);
	RUN(deep_path);
	buf_release(&mod);
	return harness_done();
}
