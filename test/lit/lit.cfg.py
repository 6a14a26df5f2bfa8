# lit configuration for the plugin's FileCheck tests.
import os
import lit.formats

config.name = "preempt"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".ll", ".c", ".test"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = os.path.join(config.preempt_build, "test", "lit")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

bin = config.llvm_bin
config.substitutions.append(("%clang", os.path.join(bin, "clang")))
config.substitutions.append(("%opt", os.path.join(bin, "opt")))
config.substitutions.append(("%llc", os.path.join(bin, "llc")))
config.substitutions.append(("%readobj", os.path.join(bin, "llvm-readobj")))
config.substitutions.append(("%objdump", os.path.join(bin, "llvm-objdump")))
config.substitutions.append(("%plugin", config.preempt_plugin))
config.substitutions.append(("%passes", config.preempt_passes))
config.substitutions.append(("%include", config.preempt_include))
config.substitutions.append(("%libdir", config.preempt_libdir))
config.substitutions.append(("%maps", config.preempt_maps))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(
    ("%preempt_opt", "%s -load-pass-plugin=%s -passes=preempt-safepoints -S"
     % (os.path.join(bin, "opt"), config.preempt_passes)))
config.substitutions.append(
    ("%cc", "%s -fplugin=%s -I%s" % (os.path.join(bin, "clang"),
                                     config.preempt_plugin, config.preempt_include)))
config.environment["PATH"] = os.pathsep.join([bin, config.environment.get("PATH", "")])
