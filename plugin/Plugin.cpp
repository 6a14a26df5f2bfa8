// The clang frontend plugin: `clang -fplugin=preempt.so`.
//
// It puts the preempt passes into clang's pipeline, reads
// -fplugin-arg-preempt-<arg> options, and refuses what the maps cannot
// survive (LTO: the link-time code generator would run without us).
#include "../passes/Preempt.h"

#include "clang/AST/ASTConsumer.h"
#include "clang/Basic/DiagnosticFrontend.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendPluginRegistry.h"
#include "llvm/Passes/PassBuilder.h"

using namespace clang;

namespace preempt {
std::unique_ptr<ASTConsumer> makeLayoutConsumer(); // Layouts.cpp
}

namespace {

// Reports Message as an error of the compilation; false, for ParseArgs.
bool error(const CompilerInstance &CI, const std::string &Message) {
  DiagnosticsEngine &D = CI.getDiagnostics();
  D.Report(D.getCustomDiagID(DiagnosticsEngine::Error, "%0")) << Message;
  return false;
}

class PreemptAction : public PluginASTAction {
protected:
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &CI,
                                                 llvm::StringRef) override {
    CodeGenOptions &CG = CI.getCodeGenOpts();
    if (CG.PrepareForLTO || CG.PrepareForThinLTO) {
      DiagnosticsEngine &D = CI.getDiagnostics();
      D.Report(D.getCustomDiagID(
          DiagnosticsEngine::Error,
          "preempt: -flto is not supported: the link-time code generator "
          "would compile this code without the plugin and drop its stack "
          "maps; build without -flto"));
    }
    CG.PassBuilderCallbacks.push_back(
        [](llvm::PassBuilder &PB) { preempt::registerPasses(PB); });
    return preempt::makeLayoutConsumer();
  }

  bool ParseArgs(const CompilerInstance &CI,
                 const std::vector<std::string> &Args) override {
    preempt::Options &O = preempt::options();
    for (const std::string &A : Args) {
      llvm::StringRef V(A);
      if (A == "no-llvm-stackmaps") {
        O.EmitLLVMStackMaps = false;
      } else if (A == "stats") {
        O.Stats = true;
      } else if (A == "polls" || V.starts_with("polls=")) {
        // polls, polls=loops (the default), polls=cycles
        O.Polls = true;
        V = V.drop_front(5);
        std::optional<preempt::PollMode> M =
            V.consume_front("=") ? preempt::parsePollMode(V)
                                 : preempt::PollMode::Loops;
        if (!M)
          return error(CI, "preempt: -fplugin-arg-preempt-polls=" + V.str() +
                               ": unknown mode (accepted: "
                               "-fplugin-arg-preempt-polls, "
                               "-fplugin-arg-preempt-polls=loops, "
                               "-fplugin-arg-preempt-polls=cycles)");
        O.PollsMode = *M;
      } else if (V.consume_front("polls-unroll=")) {
        unsigned N = 0;
        if (V.getAsInteger(10, N) || N < 1 || N > 8)
          return error(CI, "preempt: -fplugin-arg-preempt-" + A +
                               ": the most copies of a polled loop, a whole "
                               "number from 1 (no unrolling) to 8");
        O.PollsUnroll = N;
      } else if (A == "no-layouts") {
        O.Layouts = false;
      } else {
        return error(CI, "preempt: unknown plugin argument '" + A +
                             "' (known: no-layouts, no-llvm-stackmaps, "
                             "polls[=loops|cycles], polls-unroll=N, stats)");
      }
    }
    return true;
  }

  ActionType getActionType() override { return AddBeforeMainAction; }
};

} // namespace

static FrontendPluginRegistry::Add<PreemptAction>
    X("preempt", "precise stack maps and keep_alive for garbage collection");
