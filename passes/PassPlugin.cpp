// Pass registration: `clang -fpass-plugin=`, `opt -load-pass-plugin`, and
// the frontend plugin (plugin/) all end up in registerPasses().
#include "Preempt.h"

#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"

using namespace llvm;

namespace preempt {

void configureCodegen(bool Optimizing) {
  // Roots may stay in callee-saved registers: the runtime recovers each
  // frame's registers by unwinding.  Caller-saved ones are spilled by
  // FixupStatepointCallerSaved.  Without this every root would be spilled
  // around every call (LLVM's default for deopt values).
  //
  // x86 call-frame optimisation (push for stack arguments) would move RSP
  // between the frame layout and the call, so it is turned off.
  const char *const Settings[][2] = {
      {"use-registers-for-deopt-values", Optimizing ? "true" : "false"},
      {"no-x86-call-frame-opt", "true"},
  };
  auto &Opts = cl::getRegisteredOptions();
  for (auto &S : Settings) {
    auto It = Opts.find(S[0]);
    if (It != Opts.end() && It->second->getNumOccurrences() == 0)
      It->second->addOccurrence(0, S[0], S[1]);
  }
}

void registerPasses(PassBuilder &PB) {
  // -fplugin and -fpass-plugin naming the same file both call us with the
  // same PassBuilder: register once.
  static PassBuilder *Registered = nullptr;
  if (Registered == &PB)
    return;
  Registered = &PB;

  // Last in the optimisation pipeline (it also runs at -O0): liveness is
  // computed on the code that will be compiled.
  PB.registerOptimizerLastEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel Level) {
        MPM.addPass(LayoutsPass());       // before maps: it changes calls
        MPM.addPass(BlockingCallsPass()); // its calls get maps too
        // Unsafe points first: its polls are calls that need maps.
        MPM.addPass(UnsafePass(Level != OptimizationLevel::O0));
        MPM.addPass(PollsPass()); // only with -fplugin-arg-preempt-polls
        MPM.addPass(SafepointsPass(Level != OptimizationLevel::O0));
      });
  PB.registerPipelineParsingCallback(
      [](StringRef Name, ModulePassManager &MPM,
         ArrayRef<PassBuilder::PipelineElement>) {
        if (Name == "preempt-safepoints") {
          MPM.addPass(SafepointsPass());
          return true;
        }
        if (Name == "preempt-blocking") {
          MPM.addPass(BlockingCallsPass());
          return true;
        }
        if (Name == "preempt-unsafe") {
          MPM.addPass(UnsafePass());
          return true;
        }
        // preempt-polls, preempt-polls<MODE;unroll=N> (either or both)
        if (Name.consume_front("preempt-polls")) {
          if (!Name.empty() &&
              !(Name.consume_front("<") && Name.consume_back(">")))
            return false;
          PollMode Mode = PollMode::Loops;
          unsigned Unroll = 8;
          SmallVector<StringRef, 2> Params;
          Name.split(Params, ';', -1, /*KeepEmpty=*/false);
          for (StringRef P : Params) {
            std::optional<PollMode> M = parsePollMode(P);
            if (M)
              Mode = *M;
            else if (!P.consume_front("unroll=") || P.getAsInteger(10, Unroll) ||
                     Unroll < 1 || Unroll > 8)
              report_fatal_error("preempt-polls<" + Name +
                                     ">: bad parameter (accepted: loops, "
                                     "cycles, unroll=N with N from 1 to 8)",
                                 /*gen_crash_diag=*/false);
          }
          MPM.addPass(PollsPass(Mode, Unroll));
          return true;
        }
        return false;
      });
}

} // namespace preempt

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "preempt", "0.1",
          [](PassBuilder &PB) { preempt::registerPasses(PB); }};
}
