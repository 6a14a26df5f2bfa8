// Cooperative polls (-fplugin-arg-preempt-polls): for programs in which
// no thread may be stopped by a signal (all signals blocked, seccomp, a
// host that owns every signal), run with PREEMPT=asyncpreempt=0.  Such a
// thread stops only where it checks for a stop request itself; this pass
// makes sure that it checks within a bounded time, wherever it runs (in
// loops mode, below: provided that the functions its loops call check).
//
// A poll is
//   if (preempt__poll_flag) preempt_safepoint();
// on x86 `cmpl $0, preempt__poll_flag(%rip); jne cold`: no register, no
// pointer load; the call sits in a cold block that code placement moves
// out of line.  preempt__poll_flag is a hidden linkonce_odr global in a
// comdat: one copy per linked object (executable or shared library),
// shared by all its files, addressed relative to the instruction pointer.
// A constructor in the same comdat (one per linked object) hands its
// address to the runtime (preempt__poll_register, a weak reference: code
// built with polls links and runs without the runtime, where the flag
// stays 0), which sets it while a stop is requested; a destructor takes it
// back before dlclose unmaps it.  A poll that fires calls
// preempt_safepoint(), which reads the runtime's own request.
//
// Only a cycle can keep a thread from checking for long:
//   - Recursion (a cycle of calls).  A call is "re-entering" if it may
//     lead back into this function: a direct call within a cycle of this
//     module's call graph, a call through a pointer, a call of a function
//     of another file or library (unless it is a C library function that
//     takes no callback, or a runtime function).  Every path from the
//     function's entry to a re-entering call passes a check: a poll goes
//     before each re-entering call that some path reaches unchecked.  So
//     fib() checks once before its recursive calls and its base case not
//     at all; a function without loops or such calls gets nothing,
//     however often it is called.
//   - Control-flow cycles (loops, gotos, computed gotos), in one of two
//     modes (-fplugin-arg-preempt-polls=MODE):
//     loops (the default): only loops that contain no call at all.  A call
//       is a safepoint, trusted to check in its callee (as Go's loop
//       preemption has it): an interpreter's dispatch loop, whose handlers
//       call functions on some paths, gets no poll, so its call-free
//       handlers cost nothing.  Loops are nested by a loop-nesting forest:
//       the strongly connected components of the control flow; one that
//       contains a call is not polled, the edges into its entries (blocks
//       entered from outside it) are taken away and its inner components
//       looked at the same way; one without a call is polled as below,
//       within itself.  So a call-free loop inside a calling one is
//       polled, and an irreducible cycle is a loop like any other.
//     cycles: every cycle that passes no check (below), however many calls
//       it makes: a thread with signals off always stops, even in a loop
//       whose calls are leaves that never check.
//     Either way a depth-first search over the blocks that do not check;
//     a poll at the end of each block from which an edge closes a cycle (a
//     retreating edge), so irreducible cycles are covered too.
//   - Except short loops: the back-edges of an innermost loop without
//     calls that scalar evolution bounds to at most MaxShortTrips
//     iterations of at most MaxShortBody instructions are left out of
//     the search.  Such a loop runs a bounded number of instructions
//     each time it is entered; any cycle that enters it again passes
//     through its entry, outside it, and is polled there (its parent
//     loop's back-edge, or the recursion's call poll; in loops mode a
//     parent loop with a call is trusted instead).  So
//     for (i = 0; i < 16; i++) a[i] = 0;  inside a polled loop costs
//     nothing more.
// A check (for recursion, and cycles mode) is a poll, or a call after
// which the thread has certainly
// checked: preempt_safepoint, preempt_gc, a blocking region (a thread in
// one does not hold a stop up, and leaving it waits for the world), or a
// function of this module in which every path to a return checks.  A call
// that merely can reach a poll (anything else) does not count: it may be a
// leaf, or built without polls.  Functions are done callees first, so
// that their calls count for their callers.
//
// No poll goes inside an unsafe range (Unsafe.cpp: the collector would not
// see the hidden pointer), or into functions marked preempt-unsafe,
// preempt-no-safepoint or naked.
//
// Runs after UnsafePass (whose canonical markers it reads) and before
// SafepointsPass: a poll's call is an ordinary call that gets a stack map
// of the frame's live roots, so a thread stopped there is scanned
// precisely as at any other call.
#include "Preempt.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/PostOrderIterator.h"
#include "llvm/ADT/SCCIterator.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Analysis/BlockFrequencyInfo.h"
#include "llvm/Analysis/CallGraph.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/Analysis/ScalarEvolutionExpressions.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Analysis/AssumptionCache.h"
#include "llvm/Analysis/OptimizationRemarkEmitter.h"
#include "llvm/Analysis/TargetTransformInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/LoopSimplify.h"
#include "llvm/Transforms/Utils/LoopUtils.h"
#include "llvm/Transforms/Utils/UnrollLoop.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

using namespace llvm;

namespace preempt {
namespace {

// Runtime functions after whose call the thread has certainly checked for
// a stop: a poll, the heap lock, a blocking region.
bool checksStop(StringRef Name) {
  return Name == PollFunctionName || Name == "preempt_gc" ||
         Name == "preempt_enter_blocking" ||
         Name == "preempt_exit_blocking" ||
         Name == "preempt_run_finalizers" ||
         Name.starts_with("preempt_blocking_"); // Blocking.cpp's wrappers
}

// Runtime functions that never call code of the program on this thread.
bool runtimeLeaf(StringRef Name) {
  static const char *const Leaves[] = {
      "preempt_alloc",          "preempt_alloc_noscan",
      "preempt_alloc_typed",    "preempt__alloc_named",
      "preempt__alloc_slot",    "preempt_add_roots",
      "preempt_remove_roots",   "preempt_add_stack",
      "preempt_remove_stack",   "preempt_is_heap_object",
      "preempt_read_stats",     "preempt_read_stw_stats",
      "preempt_heap_report",    "preempt_set_finalizer",
      "preempt_set_gc_percent", "preempt_set_heap_limit",
      "preempt_set_oom_policy", "preempt_set_stop_signal",
      "preempt_thread_attach",  "preempt_thread_detach",
      "preempt_stop_the_world", "preempt_start_the_world"};
  return checksStop(Name) || is_contained(Leaves, Name);
}

// C library functions that call a function they are given.  (Others are
// TargetLibraryInfo's list, and the names C reserves for the
// implementation: __ctype_b_loc behind isalpha, __errno_location, the
// _FORTIFY_SOURCE functions...)
bool takesCallback(StringRef Name) {
  static const char *const Names[] = {
      "qsort",     "qsort_r",       "bsearch",  "lfind",
      "lsearch",   "tsearch",       "tfind",    "tdelete",
      "twalk",     "twalk_r",       "ftw",      "nftw",
      "scandir",   "scandirat",     "glob",     "atexit",
      "at_quick_exit", "on_exit",   "pthread_once", "call_once",
      "dl_iterate_phdr", "pthread_atfork", "__cxa_atexit",
      "__cxa_thread_atexit", "__cxa_thread_atexit_impl", "__libc_start_main"};
  return is_contained(Names, Name);
}

bool reservedName(StringRef Name) {
  return Name.starts_with("__") ||
         (Name.size() > 1 && Name[0] == '_' && isUpper(Name[1]));
}

// The functions a call may reach: its callee, or both functions of a
// Blocking.cpp redirection (select(has wrapper, wrapper, libc function)).
// Empty for an indirect call.
SmallVector<const Function *, 2> callees(const CallBase &CB) {
  const Value *V = CB.getCalledOperand()->stripPointerCasts();
  if (const auto *F = dyn_cast<Function>(V))
    return {F};
  if (const auto *S = dyn_cast<SelectInst>(V)) {
    const auto *A = dyn_cast<Function>(S->getTrueValue()->stripPointerCasts());
    const auto *B = dyn_cast<Function>(S->getFalseValue()->stripPointerCasts());
    if (A && B)
      return {A, B};
  }
  return {};
}

// Defined here, with this very body in the final program.
bool definedHere(const Function &F) {
  return !F.isDeclarationForLinker() && !F.isInterposable();
}

// The poll flag of the linked object, its constructor and destructor, and
// the runtime's entries they call (runtime/polls.c).
constexpr const char *PollFlagName = "preempt__poll_flag";
constexpr const char *PollInitName = "preempt__poll_init";
constexpr const char *PollFiniName = "preempt__poll_fini";
constexpr const char *PollRegisterName = "preempt__poll_register";
constexpr const char *PollUnregisterName = "preempt__poll_unregister";

bool isCall(const Instruction &I) {
  const auto *CB = dyn_cast<CallBase>(&I);
  return CB && !CB->isInlineAsm() && !isa<IntrinsicInst>(CB);
}

class ModulePolls {
public:
  ModulePolls(Module &M, FunctionAnalysisManager &FAM, PollMode Mode,
              unsigned Unroll)
      : M(M), Ctx(M.getContext()), FAM(FAM),
        TLII(Triple(M.getTargetTriple())), Mode(Mode), Unroll(Unroll) {}
  bool run();

private:
  Module &M;
  LLVMContext &Ctx;
  FunctionAnalysisManager &FAM;
  TargetLibraryInfoImpl TLII;
  PollMode Mode;
  unsigned Unroll; // the most copies of a polled loop (1: none)
  GlobalVariable *Flag = nullptr; // preempt__poll_flag
  DenseSet<const Instruction *> Polls; // their loads
  // Back-edges (latch, header) of short loops: not polled (see the top).
  DenseSet<std::pair<const BasicBlock *, const BasicBlock *>> ShortEdges;
  SmallPtrSet<const Function *, 32> AlwaysChecks;
  unsigned CallPolls = 0, EntryPolls = 0, LoopPolls = 0, Functions = 0,
           ShortLoops = 0, Unrolled = 0;

  static bool skipped(const Function &F);
  bool reentersUnseen(const CallBase &CB, const TargetLibraryInfo &TLI) const;
  bool checks(const Instruction &I) const;
  void checkedAtEntry(Function &F, DenseMap<BasicBlock *, bool> &In,
                      const SmallPtrSetImpl<const Instruction *> &Extra) const;
  unsigned callPolls(Function &F, const SmallPtrSetImpl<Function *> &Cycle,
                     const DenseSet<const Instruction *> &Unsafe);
  SmallVector<BasicBlock *, 8>
  latches(Function &F, ArrayRef<const BasicBlock *> Extra = {}) const;
  void shortLoops(Function &F);
  bool unrollPolledLoops(Function &F,
                         const DenseSet<const Instruction *> &Unsafe);
  SmallVector<BasicBlock *, 8> callFreeLoopLatches(Function &F) const;
  SmallVector<BasicBlock *, 8>
  loopLatches(Function &F, ArrayRef<const BasicBlock *> Extra = {}) const;
  unsigned loopPolls(Function &F, const DenseSet<const Instruction *> &Unsafe);
  bool everyReturnChecks(Function &F) const;
  void unsafeInstructions(Function &F, DenseSet<const Instruction *> &Unsafe);
  void createFlag();
  void insertPoll(Instruction *Before);
};

bool ModulePolls::skipped(const Function &F) {
  return !definedHere(F) || F.hasFnAttribute(Attribute::Naked) ||
         F.hasFnAttribute("preempt-no-safepoint") ||
         F.hasFnAttribute(UnsafeFnAttr) ||
         (F.hasGC() && F.getGC() != GCName); // no maps for its calls
}

// Whether the callee of CB may call back into code of the program by a
// path this module does not see (direct calls of functions defined here
// are in the call graph).
bool ModulePolls::reentersUnseen(const CallBase &CB,
                                 const TargetLibraryInfo &TLI) const {
  auto Fs = callees(CB);
  if (Fs.empty())
    return true; // through a function pointer
  if (Fs.size() == 2 && runtimeLeaf(Fs.front()->getName()))
    return false; // a blocking call of runtime/blocking.def: no callbacks
  for (const Function *F : Fs) {
    if (definedHere(*F) || F->isIntrinsic() ||
        F->hasFnAttribute(Attribute::NoCallback) || runtimeLeaf(F->getName()))
      continue;
    LibFunc LF;
    if (!takesCallback(F->getName()) &&
        ((TLI.getLibFunc(*F, LF) && TLI.has(LF)) ||
         reservedName(F->getName())))
      continue; // the C library's
    return true;
  }
  return false;
}

// Whether the thread has certainly checked for a stop once I is done.
bool ModulePolls::checks(const Instruction &I) const {
  if (Polls.count(&I))
    return true;
  const auto *CB = dyn_cast<CallBase>(&I);
  if (!CB || !isCall(I))
    return false;
  auto Fs = callees(*CB);
  if (Fs.empty())
    return false;
  const Function *F = Fs.front(); // a redirection: the runtime's wrapper
  return checksStop(F->getName()) || AlwaysChecks.count(F);
}

// In[B]: whether every path from F's entry to B's start has checked (a
// must-analysis; Extra: calls that will get a poll).
void ModulePolls::checkedAtEntry(
    Function &F, DenseMap<BasicBlock *, bool> &In,
    const SmallPtrSetImpl<const Instruction *> &Extra) const {
  ReversePostOrderTraversal<Function *> RPO(&F);
  DenseMap<BasicBlock *, bool> Gen, Out;
  for (BasicBlock *BB : RPO) {
    Gen[BB] = any_of(*BB, [&](const Instruction &I) {
      return checks(I) || Extra.count(&I);
    });
    Out[BB] = true; // greatest fixpoint: start from "checked"
  }
  In.clear();
  for (bool Changed = true; Changed;) {
    Changed = false;
    for (BasicBlock *BB : RPO) {
      bool Checked = BB != &F.getEntryBlock();
      for (BasicBlock *P : predecessors(BB))
        if (auto It = Out.find(P); It != Out.end()) // reachable ones
          Checked &= It->second;
      In[BB] = Checked;
      bool O = Gen[BB] || Checked;
      if (O != Out[BB]) {
        Out[BB] = O;
        Changed = true;
      }
    }
  }
}

// A poll before each re-entering call that some path from the entry
// reaches without a check, or one at the entry if that is expected to run
// less often (static block frequencies: calls in a loop, or on most paths).
// Cycle: F's cycle in the call graph (empty if it calls itself nowhere).
unsigned ModulePolls::callPolls(Function &F,
                                const SmallPtrSetImpl<Function *> &Cycle,
                                const DenseSet<const Instruction *> &Unsafe) {
  TargetLibraryInfo TLI(TLII, &F);
  auto Reenters = [&](const Instruction &I) {
    if (!isCall(I) || checks(I))
      return false;
    const auto &CB = cast<CallBase>(I);
    auto Fs = callees(CB);
    if (Fs.size() == 1 && Cycle.count(const_cast<Function *>(Fs.front())))
      return true;
    return reentersUnseen(CB, TLI);
  };
  SmallPtrSet<const Instruction *, 8> Sites;
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      if (Reenters(I) && !Unsafe.count(&I))
        Sites.insert(&I);
  if (Sites.empty())
    return 0;
  // Greedy, in reverse post-order: the first call some path reaches
  // unchecked gets a poll; then the analysis again, with that poll.
  SmallPtrSet<const Instruction *, 8> Polled;
  SmallVector<Instruction *, 8> Order; // deterministic output
  DenseMap<BasicBlock *, bool> In;
  ReversePostOrderTraversal<Function *> RPO(&F);
  for (bool Added = true; Added;) {
    Added = false;
    checkedAtEntry(F, In, Polled);
    for (BasicBlock *BB : RPO) {
      bool Checked = In[BB];
      for (Instruction &I : *BB) {
        if (!Checked && Sites.count(&I) && Polled.insert(&I).second) {
          Order.push_back(&I);
          Added = Checked = true;
        }
        Checked |= checks(I) || Polled.count(&I);
      }
      if (Added)
        break;
    }
  }
  if (Order.empty())
    return 0;
  // Each choice with the loop polls it leaves to make (a poll before a
  // call in a loop also checks for the loop), by static frequencies.
  BlockFrequencyInfo &BFI = FAM.getResult<BlockFrequencyAnalysis>(F);
  auto Freq = [&](const BasicBlock *BB) {
    return BFI.getBlockFreq(BB).getFrequency();
  };
  SmallVector<const BasicBlock *, 8> AtBlocks;
  uint64_t AtCalls = 0, AtEntry = Freq(&F.getEntryBlock());
  for (Instruction *I : Order) {
    AtCalls += Freq(I->getParent());
    AtBlocks.push_back(I->getParent());
  }
  for (BasicBlock *BB : loopLatches(F, AtBlocks))
    AtCalls += Freq(BB);
  for (BasicBlock *BB : loopLatches(F))
    AtEntry += Freq(BB);
  if (AtCalls >= AtEntry) {
    insertPoll(&*F.getEntryBlock().getFirstNonPHIOrDbgOrAlloca());
    EntryPolls++;
    return 1;
  }
  for (Instruction *I : Order)
    insertPoll(I);
  CallPolls += Order.size();
  return Order.size();
}

// The blocks at whose end a poll checks every cycle of F's control flow
// that passes no check (nor one of the blocks Extra).
SmallVector<BasicBlock *, 8>
ModulePolls::latches(Function &F,
                     ArrayRef<const BasicBlock *> Extra) const {
  SmallPtrSet<const BasicBlock *, 32> Checking(Extra.begin(), Extra.end());
  for (BasicBlock &BB : F)
    if (any_of(BB, [&](const Instruction &I) { return checks(I); }))
      Checking.insert(&BB);
  // Iterative depth-first search over the blocks that do not check; an
  // edge to a block still on the stack closes a cycle.
  SmallPtrSet<BasicBlock *, 32> Visited, OnStack;
  SmallVector<BasicBlock *, 8> Latches;
  SmallPtrSet<BasicBlock *, 8> IsLatch;
  auto Search = [&](BasicBlock *Root) {
    if (Checking.count(Root) || !Visited.insert(Root).second)
      return;
    SmallVector<std::pair<BasicBlock *, succ_iterator>, 16> Stack;
    Stack.push_back({Root, succ_begin(Root)});
    OnStack.insert(Root);
    while (!Stack.empty()) {
      auto &[BB, It] = Stack.back();
      if (It == succ_end(BB)) {
        OnStack.erase(BB);
        Stack.pop_back();
        continue;
      }
      BasicBlock *S = *It++;
      if (Checking.count(S) || ShortEdges.count({BB, S}))
        continue;
      if (OnStack.count(S)) {
        if (IsLatch.insert(BB).second)
          Latches.push_back(BB);
      } else if (Visited.insert(S).second) {
        OnStack.insert(S);
        Stack.push_back({S, succ_begin(S)});
      }
    }
  };
  // From every reachable block, entry first: a cycle may be reachable only
  // through a checking block.
  for (BasicBlock *BB : ReversePostOrderTraversal<Function *>(&F))
    Search(BB);
  return Latches;
}

// Loops mode: the blocks at whose end a poll checks every cycle of F's
// loops that contain no call (the top of the file).  Blocks are numbered
// in reverse post-order (unreachable ones left out); each region of the
// work list is split into its strongly connected components (Tarjan's
// algorithm) without the edges cut so far.
SmallVector<BasicBlock *, 8> ModulePolls::callFreeLoopLatches(Function &F) const {
  ReversePostOrderTraversal<Function *> RPOT(&F);
  SmallVector<BasicBlock *, 32> Blocks(RPOT.begin(), RPOT.end());
  const unsigned N = Blocks.size();
  DenseMap<const BasicBlock *, unsigned> Num;
  for (unsigned I = 0; I < N; I++)
    Num[Blocks[I]] = I;
  SmallVector<SmallVector<unsigned, 4>, 32> Succ(N), Pred(N);
  BitVector Calls(N);
  for (unsigned I = 0; I < N; I++) {
    Calls[I] = any_of(*Blocks[I], [&](const Instruction &In) {
      return isCall(In) || checks(In);
    });
    for (BasicBlock *S : successors(Blocks[I]))
      if (!ShortEdges.count({Blocks[I], S})) {
        Succ[I].push_back(Num.lookup(S));
        Pred[Num.lookup(S)].push_back(I);
      }
  }
  DenseSet<std::pair<unsigned, unsigned>> Cut; // edges into outer entries
  BitVector In(N), OnStack(N), Latch(N);
  SmallVector<unsigned, 32> Index(N), Low(N);
  SmallVector<BasicBlock *, 8> Latches;
  // The strongly connected components of Region's blocks (marked in In).
  auto Components = [&](ArrayRef<unsigned> Region) {
    SmallVector<SmallVector<unsigned, 8>, 4> Out;
    for (unsigned B : Region)
      Index[B] = 0;
    unsigned Next = 1;
    SmallVector<unsigned, 32> Stack;
    SmallVector<std::pair<unsigned, unsigned>, 32> Dfs; // block, next succ
    for (unsigned Root : Region) {
      if (Index[Root])
        continue;
      Dfs.push_back({Root, 0});
      Index[Root] = Low[Root] = Next++;
      Stack.push_back(Root);
      OnStack.set(Root);
      while (!Dfs.empty()) {
        auto &[B, K] = Dfs.back();
        if (K < Succ[B].size()) {
          unsigned S = Succ[B][K++];
          if (!In[S] || Cut.count({B, S}))
            continue;
          if (!Index[S]) {
            Index[S] = Low[S] = Next++;
            Stack.push_back(S);
            OnStack.set(S);
            Dfs.push_back({S, 0});
          } else if (OnStack[S]) {
            Low[B] = std::min(Low[B], Index[S]);
          }
          continue;
        }
        unsigned Done = B;
        Dfs.pop_back();
        if (!Dfs.empty())
          Low[Dfs.back().first] = std::min(Low[Dfs.back().first], Low[Done]);
        if (Low[Done] != Index[Done])
          continue;
        SmallVector<unsigned, 8> C;
        unsigned X;
        do {
          X = Stack.pop_back_val();
          OnStack.reset(X);
          C.push_back(X);
        } while (X != Done);
        llvm::sort(C); // reverse post-order: entries first
        Out.push_back(std::move(C));
      }
    }
    return Out;
  };
  SmallVector<SmallVector<unsigned, 8>, 8> Work;
  Work.emplace_back();
  for (unsigned I = 0; I < N; I++)
    Work.back().push_back(I);
  while (!Work.empty()) {
    SmallVector<unsigned, 8> Region = Work.pop_back_val();
    for (unsigned B : Region)
      In.set(B);
    auto Comps = Components(Region);
    for (unsigned B : Region)
      In.reset(B);
    for (auto &C : Comps) {
      for (unsigned B : C)
        In.set(B);
      bool Cyclic = C.size() > 1 || any_of(Succ[C[0]], [&](unsigned S) {
                      return S == C[0] && !Cut.count({S, S});
                    });
      bool HasCall = any_of(C, [&](unsigned B) { return Calls[B]; });
      if (Cyclic && HasCall) {
        // Not polled: its inner loops are what is left without the edges
        // back into its entries.
        for (unsigned B : C)
          if (any_of(Pred[B], [&](unsigned P) { return !In[P]; }))
            for (unsigned P : Pred[B])
              if (In[P])
                Cut.insert({P, B});
        Work.push_back(C);
      } else if (Cyclic) {
        // A depth-first search within C from its first entry: an edge to
        // a block on the stack closes a cycle.
        BitVector Seen(N), OnPath(N);
        SmallVector<std::pair<unsigned, unsigned>, 16> Dfs;
        for (unsigned Root : C) {
          if (Seen[Root])
            continue;
          Seen.set(Root);
          OnPath.set(Root);
          Dfs.push_back({Root, 0});
          while (!Dfs.empty()) {
            auto &[B, K] = Dfs.back();
            if (K == Succ[B].size()) {
              OnPath.reset(B);
              Dfs.pop_back();
              continue;
            }
            unsigned S = Succ[B][K++];
            if (!In[S] || Cut.count({B, S}))
              continue;
            if (OnPath[S]) {
              if (!Latch[B]) {
                Latch.set(B);
                Latches.push_back(Blocks[B]);
              }
            } else if (!Seen[S]) {
              Seen.set(S);
              OnPath.set(S);
              Dfs.push_back({S, 0});
            }
          }
        }
      }
      for (unsigned B : C)
        In.reset(B);
    }
  }
  return Latches;
}

// The blocks to poll at the end of, in this mode.  Extra: blocks that will
// check (cycles mode; in loops mode a call is a safepoint already).
SmallVector<BasicBlock *, 8>
ModulePolls::loopLatches(Function &F,
                         ArrayRef<const BasicBlock *> Extra) const {
  if (Mode == PollMode::Loops)
    return callFreeLoopLatches(F);
  return latches(F, Extra);
}

// The back-edges of F's short loops into ShortEdges: innermost, no call
// (an intrinsic aside), a constant bound on the iterations from scalar
// evolution, few instructions.  Before any poll goes into F (the
// analyses are of F as it is): no poll ever goes into such a loop.
void ModulePolls::shortLoops(Function &F) {
  constexpr uint64_t MaxShortTrips = 256, MaxShortBody = 64;
  LoopInfo &LI = FAM.getResult<LoopAnalysis>(F);
  if (LI.empty())
    return;
  ScalarEvolution &SE = FAM.getResult<ScalarEvolutionAnalysis>(F);
  for (Loop *L : LI.getLoopsInPreorder()) {
    if (!L->isInnermost())
      continue;
    const auto *Max =
        dyn_cast<SCEVConstant>(SE.getConstantMaxBackedgeTakenCount(L));
    if (!Max || Max->getAPInt().uge(MaxShortTrips))
      continue;
    uint64_t Size = 0;
    bool Calls = false;
    for (const BasicBlock *BB : L->blocks())
      for (const Instruction &I : *BB) {
        Size++;
        Calls |= isCall(I) || checks(I);
      }
    if (Calls || Size > MaxShortBody)
      continue;
    SmallVector<BasicBlock *, 2> Latches;
    L->getLoopLatches(Latches);
    for (BasicBlock *Latch : Latches)
      ShortEdges.insert({Latch, L->getHeader()});
    ShortLoops++;
  }
}

// Unrolls F's innermost call-free loops that will be polled, keeping every
// copy's exits, so that one poll serves several iterations: a poll is two
// instructions, as many as a tight loop's whole compare and branch, and
// the cost of polls is in such loops (a character-at-a-time scanner, a
// hash-chain walk).  The copies are the more the smaller the body, up to
// 8 (-fplugin-arg-preempt-polls-unroll=N lowers that; 1: none), which
// still bounds the time between polls.  Not at -O0 (optnone: code as
// written, for the debugger), nor in functions of over
// MaxFunction instructions: in an interpreter's big dispatch function the
// longer loops cost more spills around them than the polls they save.
// Short loops (above) need no poll; loops in unsafe ranges get none; loops
// that cannot be cloned (indirectbr, convergent or noduplicate operations)
// or hold inline asm (named labels) are left as they are and polled every
// iteration.
bool ModulePolls::unrollPolledLoops(Function &F,
                                    const DenseSet<const Instruction *> &Unsafe) {
  constexpr unsigned MaxUnrolledBody = 96, MaxFunction = 2000;
  LoopInfo &LI = FAM.getResult<LoopAnalysis>(F);
  if (LI.empty() || Unroll < 2 || F.hasOptNone() ||
      F.getInstructionCount() > MaxFunction)
    return false;
  SmallVector<std::pair<Loop *, unsigned>, 8> Todo;
  for (Loop *L : LI.getLoopsInPreorder()) {
    if (!L->isInnermost() || !L->isSafeToClone())
      continue;
    SmallVector<BasicBlock *, 2> Latches;
    L->getLoopLatches(Latches);
    if (Latches.size() != 1 || ShortEdges.count({Latches[0], L->getHeader()}))
      continue;
    unsigned Size = 0;
    bool Ok = true;
    for (const BasicBlock *BB : L->blocks())
      for (const Instruction &I : *BB) {
        Size++;
        const auto *CB = dyn_cast<CallBase>(&I);
        Ok &= !Unsafe.count(&I) && !isCall(I) && !checks(I) &&
              !(CB && CB->isInlineAsm());
      }
    unsigned Count = Size <= 16 ? 8 : Size <= 48 ? 4 : 2;
    Count = std::min(Count, Unroll);
    if (Ok && Size <= MaxUnrolledBody && Count > 1)
      Todo.push_back({L, Count});
  }
  if (Todo.empty())
    return false;
  DominatorTree &DT = FAM.getResult<DominatorTreeAnalysis>(F);
  ScalarEvolution &SE = FAM.getResult<ScalarEvolutionAnalysis>(F);
  AssumptionCache &AC = FAM.getResult<AssumptionAnalysis>(F);
  const TargetTransformInfo &TTI = FAM.getResult<TargetIRAnalysis>(F);
  OptimizationRemarkEmitter ORE(&F);
  bool Changed = false;
  for (auto [L, Count] : Todo) {
    simplifyLoop(L, &DT, &LI, &SE, &AC, nullptr, /*PreserveLCSSA=*/false);
    if (!L->isLoopSimplifyForm())
      continue;
    formLCSSA(*L, DT, &LI, &SE);
    UnrollLoopOptions ULO;
    ULO.Count = Count;
    ULO.Force = true;
    ULO.Runtime = false;
    ULO.AllowExpensiveTripCount = false;
    ULO.UnrollRemainder = false;
    ULO.ForgetAllSCEV = false;
    if (UnrollLoop(L, ULO, &LI, &SE, &DT, &AC, &TTI, &ORE,
                   /*PreserveLCSSA=*/true) != LoopUnrollResult::Unmodified) {
      Unrolled++;
      Changed = true;
    }
  }
  if (Changed)
    FAM.invalidate(F, PreservedAnalyses::none());
  return Changed;
}

// Polls the cycles of F's control flow that pass no check.
unsigned ModulePolls::loopPolls(Function &F,
                                const DenseSet<const Instruction *> &Unsafe) {
  unsigned N = 0;
  for (BasicBlock *BB : loopLatches(F)) {
    Instruction *T = BB->getTerminator();
    if (Unsafe.count(T) || isa<CatchSwitchInst>(T))
      continue;
    insertPoll(T);
    N++;
  }
  return N;
}

// Whether every path from F's entry to a return checks: then a call of F
// is a check for its callers.  (A path to unreachable, after abort() or
// longjmp(), leaves no cycle that the control flow shows.)
bool ModulePolls::everyReturnChecks(Function &F) const {
  DenseMap<BasicBlock *, bool> In;
  checkedAtEntry(F, In, SmallPtrSet<const Instruction *, 1>());
  for (auto &[BB, Checked] : In)
    if (succ_empty(BB) && !isa<UnreachableInst>(BB->getTerminator()) &&
        !Checked &&
        none_of(*BB, [&](const Instruction &I) { return checks(I); }))
      return false;
  return true;
}

// The instructions inside an unsafe range (after a begin marker, before
// the end marker that closes it): no poll may go there.
void ModulePolls::unsafeInstructions(Function &F,
                                     DenseSet<const Instruction *> &Unsafe) {
  struct Marker {
    bool Begin;
    unsigned Kind, Id, Arg;
  };
  auto Parse = [](const Instruction &I) -> std::optional<Marker> {
    const auto *CI = dyn_cast<CallInst>(&I);
    const auto *IA =
        CI ? dyn_cast<InlineAsm>(CI->getCalledOperand()) : nullptr;
    if (!IA)
      return std::nullopt;
    StringRef S = IA->getAsmString();
    Marker Mk;
    if (S.consume_front(UnsafeBeginMarker))
      Mk.Begin = true;
    else if (S.consume_front(UnsafeEndMarker))
      Mk.Begin = false;
    else
      return std::nullopt;
    for (unsigned *Field : {&Mk.Kind, &Mk.Id, &Mk.Arg}) {
      S = S.ltrim();
      if (S.consumeInteger(10, *Field))
        return std::nullopt;
    }
    return Mk;
  };
  for (BasicBlock &BB : F)
    for (Instruction &I : BB) {
      std::optional<Marker> B = Parse(I);
      if (!B || !B->Begin)
        continue;
      SmallVector<BasicBlock::iterator, 8> Work{std::next(I.getIterator())};
      SmallPtrSet<BasicBlock *, 16> Seen;
      while (!Work.empty()) {
        BasicBlock::iterator It = Work.pop_back_val();
        BasicBlock *Cur = It->getParent();
        bool Closed = false;
        for (; It != Cur->end() && !Closed; ++It) {
          std::optional<Marker> E = Parse(*It);
          Closed = E && !E->Begin && E->Kind == B->Kind && E->Id == B->Id &&
                   E->Arg;
          if (!Closed)
            Unsafe.insert(&*It);
        }
        if (Closed)
          continue;
        for (BasicBlock *S : successors(Cur))
          if (Seen.insert(S).second)
            Work.push_back(S->begin());
      }
    }
}

// preempt__poll_flag, and the constructor and destructor that register
// it with the runtime if the runtime is there (weak references).  All
// three in one comdat keyed by the flag, and the constructor's and
// destructor's table entries too: the linker keeps one of each per linked
// object, however many of its files have polls.
void ModulePolls::createFlag() {
  Type *I32 = Type::getInt32Ty(Ctx);
  PointerType *Ptr = PointerType::get(Ctx, 0);
  Flag = M.getNamedGlobal(PollFlagName);
  if (Flag && !Flag->isDeclaration())
    return; // this module has them already (the pass ran before)
  if (Flag)
    Flag->eraseFromParent(); // a declaration someone wrote: ours is hidden
  Comdat *C = M.getOrInsertComdat(PollFlagName);
  C->setSelectionKind(Comdat::Any);
  Flag = new GlobalVariable(M, I32, /*isConstant=*/false,
                            GlobalValue::LinkOnceODRLinkage,
                            ConstantInt::get(I32, 0), PollFlagName);
  Flag->setVisibility(GlobalValue::HiddenVisibility);
  Flag->setDSOLocal(true);
  Flag->setAlignment(Align(4));
  Flag->setComdat(C);
  auto Make = [&](const char *Name, const char *Entry, bool Ctor) {
    auto *Callee = cast<Function>(
        M.getOrInsertFunction(Entry, Type::getVoidTy(Ctx), Ptr).getCallee());
    if (Callee->isDeclaration())
      Callee->setLinkage(GlobalValue::ExternalWeakLinkage);
    Function *F = Function::Create(
        FunctionType::get(Type::getVoidTy(Ctx), false),
        GlobalValue::LinkOnceODRLinkage, Name, M);
    F->setVisibility(GlobalValue::HiddenVisibility);
    F->setDSOLocal(true);
    F->setComdat(C);
    F->addFnAttr("preempt-no-safepoint");
    F->addFnAttr(Attribute::NoUnwind);
    BasicBlock *Entry0 = BasicBlock::Create(Ctx, "", F);
    BasicBlock *Call = BasicBlock::Create(Ctx, "runtime", F);
    BasicBlock *Done = BasicBlock::Create(Ctx, "done", F);
    IRBuilder<> B(Entry0);
    B.CreateCondBr(B.CreateICmpNE(Callee, ConstantPointerNull::get(Ptr)),
                   Call, Done);
    B.SetInsertPoint(Call);
    B.CreateCall(Callee, {Flag});
    B.CreateBr(Done);
    B.SetInsertPoint(Done);
    B.CreateRetVoid();
    // Registered before other constructors (which may poll already), and
    // taken back after other destructors.
    if (Ctor)
      appendToGlobalCtors(M, F, /*Priority=*/0, Flag);
    else
      appendToGlobalDtors(M, F, /*Priority=*/0, Flag);
  };
  Make(PollInitName, PollRegisterName, true);
  Make(PollFiniName, PollUnregisterName, false);
}

// if (preempt__poll_flag) preempt_safepoint();  with the call out of line
// (unlikely branch, cold call site).  The flag is read with a volatile
// load: never hoisted out of a loop, never merged with another, and
// folded into the compare (an atomic load would not be).
void ModulePolls::insertPoll(Instruction *Before) {
  if (!Flag)
    createFlag();
  FunctionCallee Safepoint = pollFunction(M);
  IRBuilder<> B(Before);
  LoadInst *L = B.CreateAlignedLoad(B.getInt32Ty(), Flag, Align(4),
                                    /*isVolatile=*/true, "preempt.poll");
  Polls.insert(L);
  Value *Cond = B.CreateICmpNE(L, B.getInt32(0), "preempt.stop");
  Instruction *Then = SplitBlockAndInsertIfThen(
      Cond, Before->getIterator(), /*Unreachable=*/false,
      MDBuilder(Ctx).createUnlikelyBranchWeights());
  Then->getParent()->setName("preempt.poll.slow");
  Before->getParent()->setName("preempt.poll.done");
  B.SetInsertPoint(Then);
  CallInst *Call = B.CreateCall(Safepoint);
  Call->addFnAttr(Attribute::Cold);
  Call->setDebugLoc(Before->getDebugLoc());
}

bool ModulePolls::run() {
  // Callees first (the call graph's SCCs come bottom-up): a call of a
  // function in which every path checks is a check in its callers.
  CallGraph CG(M);
  bool Changed = false;
  for (scc_iterator<CallGraph *> I = scc_begin(&CG); !I.isAtEnd(); ++I) {
    SmallPtrSet<Function *, 4> Cycle;
    if (I.hasCycle())
      for (CallGraphNode *N : *I)
        if (Function *F = N->getFunction())
          Cycle.insert(F);
    for (CallGraphNode *N : *I) {
      Function *F = N->getFunction();
      if (!F || skipped(*F))
        continue;
      DenseSet<const Instruction *> Unsafe;
      unsafeInstructions(*F, Unsafe);
      shortLoops(*F);
      if (unrollPolledLoops(*F, Unsafe))
        Changed = true;
      unsigned C = callPolls(*F, Cycle, Unsafe);
      unsigned L = loopPolls(*F, Unsafe);
      if (everyReturnChecks(*F))
        AlwaysChecks.insert(F);
      if (!C && !L)
        continue;
      FAM.invalidate(*F, PreservedAnalyses::none());
      LoopPolls += L;
      Functions++;
      Changed = true;
      // The polls read memory and may call the runtime.
      F->removeFnAttr(Attribute::Memory);
      F->removeFnAttr(Attribute::NoSync);
      F->removeFnAttr(Attribute::NoFree);
      F->removeFnAttr(Attribute::NoCallback);
    }
  }
  if (options().Stats)
    errs() << "preempt: " << M.getSourceFileName() << ": polls in "
           << Functions << " functions: " << LoopPolls << " on loops, "
           << CallPolls << " before calls that may recurse, " << EntryPolls
           << " at entries instead; " << ShortLoops
           << " short loops left to their parents; " << Unrolled
           << " loops unrolled\n";
  return Changed;
}

} // namespace

std::optional<PollMode> parsePollMode(StringRef S) {
  if (S == "loops")
    return PollMode::Loops;
  if (S == "cycles")
    return PollMode::Cycles;
  return std::nullopt;
}

PreservedAnalyses PollsPass::run(Module &M, ModuleAnalysisManager &MAM) {
  if (!Forced && !options().Polls)
    return PreservedAnalyses::all();
  FunctionAnalysisManager &FAM =
      MAM.getResult<FunctionAnalysisManagerModuleProxy>(M).getManager();
  PollMode Mode = Forced ? *Forced : options().PollsMode;
  unsigned Unroll = this->Unroll ? this->Unroll : options().PollsUnroll;
  return ModulePolls(M, FAM, Mode, Unroll).run() ? PreservedAnalyses::none()
                                                 : PreservedAnalyses::all();
}

} // namespace preempt
