# lit configuration for preempt-maps' tests (FileCheck on its output, like
# the plugin's tests in test/lit).
import os
import shutil
import subprocess
import lit.formats

config.name = "preempt-maps"
# bash: RUN lines use $(...) and if/then.
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".c", ".test"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = os.path.join(config.preempt_build, "tools", "test")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

here = config.test_source_root
maps = config.preempt_maps
python = config.python
# valgrind, when it can run the tool: any memory error exits 99.  Its own
# complaints (about DWARF it cannot read) go to a log.
valgrind = ""
if shutil.which("valgrind"):
    log = os.path.join(config.test_exec_root, "valgrind.log")
    cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--log-file=" + log]
    if subprocess.run(cmd + [maps, "--help"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        valgrind = " ".join(cmd)
    else:
        lit_config.note("valgrind cannot run preempt-maps; testing without it")

config.substitutions.append(("%crosscheck", "%s %s %s" % (
    python, os.path.join(here, "crosscheck.py"), maps)))
config.substitutions.append(("%expect_exit", "%s %s" % (
    python, os.path.join(here, "expect_exit.py"))))
config.substitutions.append(("%valgrind", valgrind))
config.substitutions.append(("%python", python))
config.substitutions.append(("%maps", maps))
config.substitutions.append(("%libdir", os.path.join(config.preempt_build, "lib")))
config.substitutions.append(("%include", config.preempt_include))
config.substitutions.append(("%cc", "clang-19 -fplugin=%s -I%s" % (
    config.preempt_plugin, config.preempt_include)))
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_bin, config.environment.get("PATH", "")])
