// Shared declarations of the preempt LLVM passes.
//
// Data flow: Safepoints (IR) attaches a "deopt" operand bundle listing the
// live roots to every call that can reach the runtime; codegen lowers those
// calls as statepoints with roots left where the register allocator put
// them; the GC metadata printer (PreemptGC) writes our compact map note and
// a copy of LLVM's StackMap v3 for llvm-readobj.
#ifndef PREEMPT_PASSES_PREEMPT_H
#define PREEMPT_PASSES_PREEMPT_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/PassManager.h"

#include <map>
#include <optional>
#include <string>

namespace llvm {
class CallInst;
class Function;
class Module;
class PassBuilder;
class AsmPrinter;
} // namespace llvm

namespace preempt {

// Name of our GCStrategy and metadata printer ("gc" function attribute).
inline constexpr const char *GCName = "preempt";

// Which cycles of the control flow -fplugin-arg-preempt-polls polls
// (Polls.cpp): Loops, those of loops without any call (a call is trusted
// to check in its callee, as in Go); Cycles, every cycle that passes no
// certain check (a thread with signals off always stops).
enum class PollMode { Loops, Cycles };
// "loops" or "cycles"; nullopt for anything else.
std::optional<PollMode> parsePollMode(llvm::StringRef S);

// Options that the clang plugin (-fplugin-arg-preempt-...) or a pass
// parameter can set.  Plain globals rather than cl::opt so that loading
// both preempt.so and preempt-passes.so into one process cannot clash.
struct Options {
  bool EmitLLVMStackMaps = true; // non-alloc .llvm_stackmaps for llvm-readobj
  bool Stats = false;            // per-module summary on stderr
  bool Polls = false;            // cooperative polls (Polls.cpp)
  PollMode PollsMode = PollMode::Loops; // polls=loops|cycles
  unsigned PollsUnroll = 8;      // polls-unroll=N: most copies of a loop
  bool Layouts = true;           // typed layouts (Layouts.cpp)
};
Options &options();

// Inline asm emitted by preempt_keep_alive() in preempt.h.  Its operand is
// a use for liveness; the pass deletes the asm, so the cost is zero.
inline constexpr const char *KeepAliveAsm = "# preempt_keep_alive $0";
bool isKeepAliveMarker(const llvm::CallInst &CI);
// Collects the markers of F; erases them with eraseKeepAlives.
llvm::SmallVector<llvm::CallInst *, 4> collectKeepAlives(llvm::Function &F);
void eraseKeepAlives(llvm::ArrayRef<llvm::CallInst *> Markers);

// Sets the codegen options our maps rely on (roots may stay in registers,
// no push-based call frames), unless the user set them explicitly.
// At -O0 the fast register allocator cannot spill statepoint operands, so
// they are spilled by statepoint lowering instead.
void configureCodegen(bool Optimizing);

struct SafepointsPass : llvm::PassInfoMixin<SafepointsPass> {
  explicit SafepointsPass(bool Optimizing = true) : Optimizing(Optimizing) {}
  bool Optimizing;
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &);
  static bool isRequired() { return true; } // runs at -O0 and on optnone
};

// Redirects direct calls of the blocking C library functions listed in
// runtime/blocking.def to the runtime's wrappers (Blocking.cpp), which
// make them blocking transitions.  Runs before SafepointsPass.
struct BlockingCallsPass : llvm::PassInfoMixin<BlockingCallsPass> {
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &);
  static bool isRequired() { return true; }
};

// Type layouts (Layouts.cpp): the clang plugin's AST consumer
// (plugin/Layouts.cpp) fills typeLayouts() with the layout blob
// (runtime/layout_format.h) of each type named by a preempt_new(T) of the
// file, keyed by the name literal (empty: no layout); LayoutsPass turns
// each such preempt__alloc_slot call into preempt__alloc_layout with the
// blob as a constant.  Without the AST consumer (opt) it changes nothing.
std::map<std::string, std::string> &typeLayouts();
struct LayoutsPass : llvm::PassInfoMixin<LayoutsPass> {
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &);
  static bool isRequired() { return true; }
};

// Unsafe points (Unsafe.cpp): checks and canonicalises the
// preempt_unsafe_begin/end markers of preempt.h, marks pointers held as
// changed integers, polls at the end of each range, and gives every
// function asynchronous unwind tables.  Runs before SafepointsPass, so that
// its polls get stack maps.  UnsafeTable.cpp turns the markers into the
// table (runtime/map_format.h) at code emission.
inline constexpr const char *UserBeginAsm = "# preempt_unsafe_begin $0";
inline constexpr const char *UserEndAsm = "# preempt_unsafe_end $0";
// Canonical markers: "<marker> kind id arg $0"; arg is the source line for
// a begin, 1 for an end that closes its range (0: the range goes on).
inline constexpr const char *UnsafeBeginMarker = "# preempt.unsafe.begin";
inline constexpr const char *UnsafeEndMarker = "# preempt.unsafe.end";
inline constexpr const char *UnsafeFnAttr = "preempt-unsafe";
inline constexpr const char *UnsafeAnnotation = "preempt_unsafe";
inline constexpr const char *StopRequestedName = "preempt__stop_requested";
inline constexpr const char *PollFunctionName = "preempt_safepoint";
// Its declaration in M, weak: code that polls still links without the
// runtime (Unsafe.cpp).
llvm::FunctionCallee pollFunction(llvm::Module &M);
struct UnsafePass : llvm::PassInfoMixin<UnsafePass> {
  explicit UnsafePass(bool Optimizing = true) : Optimizing(Optimizing) {}
  bool Optimizing;
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &);
  static bool isRequired() { return true; }
};
// Cooperative polls at loop back-edges and before calls that may recurse
// (Polls.cpp), with Options::Polls or when Forced (the "preempt-polls"
// pipeline element; "preempt-polls<cycles;unroll=N>" sets the mode and the
// most copies of an unrolled loop).  Runs after UnsafePass, whose ranges
// it keeps out of, and before SafepointsPass, which maps its calls.
struct PollsPass : llvm::PassInfoMixin<PollsPass> {
  PollsPass() = default;
  // The pipeline element: always runs, in this mode.
  PollsPass(PollMode Mode, unsigned Unroll) : Forced(Mode), Unroll(Unroll) {}
  std::optional<PollMode> Forced;
  unsigned Unroll = 0; // 0: options().PollsUnroll
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &);
  static bool isRequired() { return true; }
};

// Called by the GC metadata printer when code emission starts.
void addUnsafeTableWriter(llvm::AsmPrinter &AP);

// Registers the pass pipeline hooks on PB once, however many times the
// plugin is loaded (-fplugin and -fpass-plugin together).
void registerPasses(llvm::PassBuilder &PB);

} // namespace preempt

#endif
