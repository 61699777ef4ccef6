# The two things pyproject.toml cannot say (docs/packaging.md, Wheel):
#  - the one script is an ELF binary: copy it byte for byte (distutils would
#    read it as text, looking for a #! line to rewrite);
#  - the tag is py3-none-PLATFORM with Root-Is-Purelib false: a native
#    program for one platform, but no extension of any Python or ABI.
# PLATFORM comes from [bdist_wheel] plat_name in the setup.cfg that
# packaging/wheel/build.sh writes into the staging directory.
import os

from setuptools import setup
from distutils.command.build_scripts import build_scripts  # setuptools' own copy
from wheel.bdist_wheel import bdist_wheel


class copy_binary(build_scripts):
    def run(self):
        self.mkpath(self.build_dir)
        for script in self.scripts:
            self.copy_file(script, os.path.join(self.build_dir, os.path.basename(script)))


class platform_wheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        if not self.plat_name_supplied:
            raise SystemExit("strobe's wheel needs [bdist_wheel] plat_name (packaging/wheel/build.sh)")
        return ("py3", "none", self.plat_name)


setup(cmdclass={"build_scripts": copy_binary, "bdist_wheel": platform_wheel})
