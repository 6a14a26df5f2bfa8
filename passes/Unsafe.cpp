// Unsafe points, the IR half: where the runtime must not stop a thread
// asynchronously, and a poll where such code ends.
//
// Three sources of unsafe code:
//   - preempt_unsafe_begin(v) / preempt_unsafe_end(v) (preempt.h): empty
//     asm statements; checked here (every path from a begin reaches an end,
//     no nesting) and rewritten into canonical markers;
//   - functions marked PREEMPT_UNSAFE (an "annotate" attribute, read from
//     llvm.global.annotations), which become "preempt-unsafe" functions;
//   - pointers held as a changed integer: ptrtoint, then xor, a shift, a
//     mask or tag that changes high bits (anything but adding an offset),
//     then inttoptr.  A begin marker reading the pointer goes before each
//     ptrtoint, an end marker reading the result after each inttoptr.
//
// Markers are inline asm with side effects, zero bytes of code, that read
// the value they protect: the pointer is live up to the begin, the result
// exists at the end, so the hiding arithmetic cannot leave the range.  The
// code generator keeps them in order; UnsafeTable.cpp finds them in the
// final machine code, computes each range over the block layout, and
// writes the table.  After every range that ends (and before every return
// of a marked function) goes a poll: if the runtime asked for a stop, call
// preempt_safepoint().  A thread signalled inside a range is let go and
// stops there within a few instructions.
//
// Runs before SafepointsPass: the polls are ordinary calls, so they get
// stack maps like any other, and the markers' operands count as uses in
// its liveness (the protected pointer stays in the maps up to the range).
#include "Preempt.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/PromoteMemToReg.h"

#include "../runtime/map_format.h"

using namespace llvm;

namespace preempt {
namespace {

bool isUserMarker(const Instruction &I, StringRef Asm) {
  const auto *CI = dyn_cast<CallInst>(&I);
  const auto *IA = CI ? dyn_cast<InlineAsm>(CI->getCalledOperand()) : nullptr;
  return IA && IA->getAsmString() == Asm;
}

unsigned lineOf(const Instruction &I) {
  const DebugLoc &DL = I.getDebugLoc();
  return DL ? DL.getLine() : 0;
}

std::string where(const Instruction &I) {
  std::string S;
  raw_string_ostream OS(S);
  if (const DebugLoc &DL = I.getDebugLoc())
    OS << DL->getFilename() << ":" << DL.getLine() << ": ";
  return S;
}

// Stack or static memory is never a heap object: hiding its address hides
// nothing from the collector.
bool isStackOrStatic(const Value *V) {
  const Value *U = getUnderlyingObject(V, 0);
  return isa<AllocaInst>(U) || isa<Constant>(U);
}

// An operation after which an integer made from a pointer may no longer
// point into the pointer's object.  Adding or subtracting an offset keeps
// it pointing there (or where C says it may point); so does clearing or
// setting the low four bits (the heap aligns objects to 16 bytes).
bool hides(const Instruction &I) {
  switch (I.getOpcode()) {
  case Instruction::Add:
  case Instruction::Sub:
  case Instruction::PHI:
  case Instruction::Select:
  case Instruction::Freeze:
  case Instruction::ZExt:
  case Instruction::SExt:
    return false;
  case Instruction::And:
  case Instruction::Or: {
    const auto *C = dyn_cast<ConstantInt>(I.getOperand(1));
    if (!C)
      return true;
    APInt Changed = I.getOpcode() == Instruction::And ? ~C->getValue()
                                                      : C->getValue();
    return Changed.getActiveBits() > 4;
  }
  case Instruction::Trunc: // high bits gone
  default:                 // xor, shifts, mul, div...
    return true;
  }
}

// Integer operations through which a pointer's bits flow, recoverably.
// Multiplication, division, remainder and truncation make a number (the
// integer a C program keeps in a void *, (void *)(intptr_t)(id * id)):
// nothing to recover a pointer from.
bool carriesBits(const Instruction &I) {
  if (!I.getType()->isIntegerTy())
    return false;
  switch (I.getOpcode()) {
  case Instruction::Mul:
  case Instruction::UDiv:
  case Instruction::SDiv:
  case Instruction::URem:
  case Instruction::SRem:
    return false;
  default:
    break;
  }
  return isa<BinaryOperator>(I) || isa<PHINode>(I) || isa<SelectInst>(I) ||
         isa<FreezeInst>(I) || isa<ZExtInst>(I) || isa<SExtInst>(I);
}

// A ptrtoint -> ... -> inttoptr chain: its conversions and the integers in
// between that no longer point into the object.
struct Chain {
  SmallVector<PtrToIntInst *, 2> Sources;
  SmallVector<IntToPtrInst *, 2> Sinks;
  SmallPtrSet<Instruction *, 8> Hidden;
};

class FunctionUnsafe {
public:
  FunctionUnsafe(Function &F, bool Optimizing, unsigned &NextId)
      : F(F), Ctx(F.getContext()), Optimizing(Optimizing), NextId(NextId) {}
  // Ranges found and polls inserted: the function needs the table writer.
  bool run();

private:
  Function &F;
  LLVMContext &Ctx;
  bool Optimizing;
  unsigned &NextId;
  SmallVector<Instruction *, 4> PollAfter;
  SmallPtrSet<Instruction *, 32> InExplicit; // inside a marked range
  bool Failed = false;

  void error(const Instruction &At, const Twine &Msg) {
    Ctx.diagnose(DiagnosticInfoInlineAsm(At, "preempt: " + Msg));
    Failed = true;
  }
  bool explicitRanges();
  bool automaticRanges();
  void findChains(SmallVectorImpl<Chain> &Chains);
  bool usedAfter(Instruction *From, const Chain &C);
  const Instruction *callInRange(const Chain &C);
  void insertPoll(Instruction *Before);
};

// The canonical marker, read back by UnsafeTable.cpp.  $0 keeps the
// operand in the text, so that the asm really reads it.
std::string markerText(bool Begin, unsigned Kind, unsigned Id, unsigned Arg) {
  std::string S;
  raw_string_ostream(S) << (Begin ? UnsafeBeginMarker : UnsafeEndMarker) << " "
                        << Kind << " " << Id << " " << Arg << " $0";
  return S;
}

// preempt_unsafe_begin/end: each path from a begin reaches an end, before
// any other begin and before a return.
bool FunctionUnsafe::explicitRanges() {
  SmallVector<CallInst *, 4> Begins, Ends;
  for (BasicBlock &BB : F)
    for (Instruction &I : BB) {
      if (isUserMarker(I, UserBeginAsm))
        Begins.push_back(cast<CallInst>(&I));
      else if (isUserMarker(I, UserEndAsm))
        Ends.push_back(cast<CallInst>(&I));
    }
  if (Begins.empty() && Ends.empty())
    return false;
  SmallPtrSet<Instruction *, 8> Reached;
  for (CallInst *B : Begins) {
    SmallVector<BasicBlock::iterator, 8> Work{std::next(B->getIterator())};
    SmallPtrSet<BasicBlock *, 16> Seen;
    bool Told = false;
    while (!Work.empty() && !Told) {
      BasicBlock::iterator It = Work.pop_back_val();
      BasicBlock *BB = It->getParent();
      bool Stopped = false;
      for (; It != BB->end(); ++It) {
        if (isUserMarker(*It, UserEndAsm)) {
          Reached.insert(&*It);
          Stopped = true;
          break;
        }
        InExplicit.insert(&*It);
        if (&*It == B) { // around a loop: the same range again
          Stopped = true;
          break;
        }
        if (isUserMarker(*It, UserBeginAsm)) {
          error(*It, "preempt_unsafe_begin inside the unsafe range opened at "
                     "line " + Twine(lineOf(*B)) +
                     " (ranges do not nest: end the first one before)");
          Told = true;
          break;
        }
        if (isa<ReturnInst>(*It) || isa<ResumeInst>(*It)) {
          error(*B, "a path from this preempt_unsafe_begin leaves function '" +
                        F.getName() + "' without preempt_unsafe_end");
          Told = true;
          break;
        }
      }
      if (Stopped || Told || It != BB->end())
        continue;
      for (BasicBlock *S : successors(BB))
        if (Seen.insert(S).second)
          Work.push_back(S->begin());
    }
  }
  for (CallInst *E : Ends)
    if (!Reached.count(E))
      error(*E, "preempt_unsafe_end is not reached from any "
                "preempt_unsafe_begin in function '" + F.getName() + "'");
  if (Failed)
    return false;
  // Canonical markers: same operands and constraints, our text.
  auto Rewrite = [&](CallInst *CI, bool Begin) {
    auto *IA = cast<InlineAsm>(CI->getCalledOperand());
    unsigned Arg = Begin ? lineOf(*CI) : 1; // begin: line; end: final
    CI->setCalledOperand(InlineAsm::get(
        IA->getFunctionType(),
        markerText(Begin, PREEMPT_UNSAFE_RANGE, 0, Arg),
        IA->getConstraintString(), /*hasSideEffects=*/true,
        IA->isAlignStack(), IA->getDialect(), IA->canThrow()));
  };
  for (CallInst *B : Begins)
    Rewrite(B, true);
  for (CallInst *E : Ends) {
    Rewrite(E, false);
    PollAfter.push_back(E);
  }
  return true;
}

// Backwards from each inttoptr through integer arithmetic to the ptrtoints
// it comes from; a chain if some operation on the way hides the pointer.
void FunctionUnsafe::findChains(SmallVectorImpl<Chain> &Chains) {
  for (BasicBlock &BB : F)
    for (Instruction &I : BB) {
      auto *I2P = dyn_cast<IntToPtrInst>(&I);
      if (!I2P)
        continue;
      // The slice: integer instructions the inttoptr's operand depends on.
      SmallPtrSet<Instruction *, 16> Slice;
      SmallVector<Instruction *, 16> Work;
      SmallVector<PtrToIntInst *, 2> Sources;
      auto Add = [&](Value *V) {
        auto *In = dyn_cast<Instruction>(V);
        if (!In || !Slice.insert(In).second)
          return;
        if (auto *P2I = dyn_cast<PtrToIntInst>(In)) {
          if (!isStackOrStatic(P2I->getPointerOperand()))
            Sources.push_back(P2I);
        } else if (carriesBits(*In)) {
          Work.push_back(In);
        }
      };
      Add(I2P->getOperand(0));
      while (!Work.empty())
        for (Value *Op : Work.pop_back_val()->operands())
          Add(Op);
      if (Sources.empty())
        continue;
      // Forwards from the sources inside the slice: the integers made from
      // a pointer, then those a hiding operation changed.
      Chain C;
      SmallPtrSet<Instruction *, 16> FromSource;
      SmallVector<Instruction *, 16> Fwd(Sources.begin(), Sources.end());
      auto Users = [&](Instruction *In, auto &&Fn) {
        for (User *U : In->users())
          if (auto *UI = dyn_cast<Instruction>(U); UI && Slice.count(UI))
            Fn(UI);
      };
      while (!Fwd.empty()) {
        Instruction *In = Fwd.pop_back_val();
        if (FromSource.insert(In).second)
          Users(In, [&](Instruction *UI) { Fwd.push_back(UI); });
      }
      for (Instruction *In : FromSource)
        if (!isa<PtrToIntInst>(In) && hides(*In))
          Fwd.push_back(In);
      while (!Fwd.empty()) {
        Instruction *In = Fwd.pop_back_val();
        if (C.Hidden.insert(In).second)
          Users(In, [&](Instruction *UI) {
            if (FromSource.count(UI))
              Fwd.push_back(UI);
          });
      }
      Value *Op = I2P->getOperand(0);
      if (!isa<Instruction>(Op) || !C.Hidden.count(cast<Instruction>(Op)))
        continue;
      C.Sources = Sources;
      C.Sinks.push_back(I2P);
      Chains.push_back(std::move(C));
    }
}

// Whether a hidden integer of C is used at or after From on some path:
// then the range goes on past this inttoptr.
bool FunctionUnsafe::usedAfter(Instruction *From, const Chain &C) {
  SmallPtrSet<Instruction *, 16> Uses;
  for (Instruction *H : C.Hidden)
    for (User *U : H->users())
      if (auto *UI = dyn_cast<Instruction>(U))
        Uses.insert(UI);
  SmallVector<BasicBlock::iterator, 8> Work{From->getIterator()};
  SmallPtrSet<BasicBlock *, 16> Seen;
  while (!Work.empty()) {
    BasicBlock::iterator It = Work.pop_back_val();
    BasicBlock *BB = It->getParent();
    for (; It != BB->end(); ++It)
      if (Uses.count(&*It))
        return true;
    for (BasicBlock *S : successors(BB))
      if (Seen.insert(S).second)
        Work.push_back(S->begin());
  }
  return false;
}

// A call between a source and the last sink: a cooperative stop there sees
// only the hidden integer, if the pointer itself is dead.
const Instruction *FunctionUnsafe::callInRange(const Chain &C) {
  SmallPtrSet<Instruction *, 4> Ends;
  for (IntToPtrInst *S : C.Sinks)
    if (!usedAfter(S->getNextNode(), C))
      Ends.insert(S);
  for (PtrToIntInst *S : C.Sources) {
    SmallVector<BasicBlock::iterator, 8> Work{S->getIterator()};
    SmallPtrSet<BasicBlock *, 16> Seen;
    while (!Work.empty()) {
      BasicBlock::iterator It = Work.pop_back_val();
      BasicBlock *BB = It->getParent();
      for (; It != BB->end() && !Ends.count(&*It); ++It)
        if (auto *CB = dyn_cast<CallBase>(&*It))
          if (!CB->isInlineAsm() && !isa<IntrinsicInst>(CB))
            return CB;
      if (It != BB->end())
        continue;
      for (BasicBlock *Succ : successors(BB))
        if (Seen.insert(Succ).second)
          Work.push_back(Succ->begin());
    }
  }
  return nullptr;
}

bool FunctionUnsafe::automaticRanges() {
  bool HasP2I = false, HasI2P = false;
  for (Instruction &I : instructions(F)) {
    HasP2I |= isa<PtrToIntInst>(I);
    HasI2P |= isa<IntToPtrInst>(I);
  }
  if (!HasP2I || !HasI2P)
    return false;
  // At -O0 the integers live in allocas; promote them to see the chain
  // (SafepointsPass would promote them next anyway).
  if (!Optimizing) {
    SmallVector<AllocaInst *, 16> Promotable;
    for (Instruction &I : F.getEntryBlock())
      if (auto *AI = dyn_cast<AllocaInst>(&I))
        if (isAllocaPromotable(AI) && !AI->isSwiftError())
          Promotable.push_back(AI);
    if (!Promotable.empty()) {
      DominatorTree DT(F);
      PromoteMemToReg(Promotable, DT);
    }
  }
  SmallVector<Chain, 4> Chains;
  findChains(Chains);
  Type *Ptr = PointerType::get(Ctx, 0);
  bool Added = false;
  for (Chain &C : Chains) {
    // Inside a marked range already: no second range, no second poll.
    if (all_of(C.Sources, [&](Instruction *I) { return InExplicit.count(I); }) &&
        all_of(C.Sinks, [&](Instruction *I) { return InExplicit.count(I); }))
      continue;
    unsigned Id = ++NextId;
    Added = true;
    unsigned Line = lineOf(*C.Sources.front());
    if (const Instruction *Call = callInRange(C))
      errs() << where(*C.Sources.front()) << "warning: preempt: in function '"
             << F.getName() << "', a pointer is held only as a changed "
             << "integer (ptrtoint, then xor/shift/tag) across the call at "
             << (lineOf(*Call) ? "line " + std::to_string(lineOf(*Call))
                               : std::string("an unknown line"))
             << ": a collection there cannot see its object; keep the "
             << "pointer itself alive across the call\n";
    for (PtrToIntInst *S : C.Sources) {
      auto *FTy = FunctionType::get(Type::getVoidTy(Ctx), {Ptr}, false);
      IRBuilder<> B(S);
      Value *P = S->getPointerOperand();
      if (P->getType() != Ptr)
        continue; // vectors of pointers: not handled
      B.CreateCall(InlineAsm::get(FTy, markerText(true, PREEMPT_UNSAFE_AUTO,
                                                  Id, Line),
                                  "r", /*hasSideEffects=*/true),
                   {P});
    }
    for (IntToPtrInst *Sink : C.Sinks) {
      if (Sink->getType() != Ptr)
        continue;
      bool Final = !usedAfter(Sink->getNextNode(), C);
      auto *FTy = FunctionType::get(Type::getVoidTy(Ctx), {Ptr}, false);
      IRBuilder<> B(Sink->getNextNode());
      CallInst *End = B.CreateCall(
          InlineAsm::get(FTy, markerText(false, PREEMPT_UNSAFE_AUTO, Id, Final),
                         "r", /*hasSideEffects=*/true),
          {Sink});
      if (Final)
        PollAfter.push_back(End);
    }
  }
  return Added;
}

// if (preempt__stop_requested) preempt_safepoint();  out of line.  Both
// are weak references, so that code built with the plugin links without
// the runtime: the flag is then read from a zero of our own.
void FunctionUnsafe::insertPoll(Instruction *Before) {
  Module &M = *F.getParent();
  Type *I32 = Type::getInt32Ty(Ctx);
  auto *Flag = cast<GlobalVariable>(
      M.getOrInsertGlobal(StopRequestedName, I32));
  if (Flag->isDeclaration())
    Flag->setLinkage(GlobalValue::ExternalWeakLinkage);
  GlobalVariable *Zero = M.getGlobalVariable("preempt.poll.zero", true);
  if (!Zero)
    Zero = new GlobalVariable(M, I32, /*isConstant=*/true,
                              GlobalValue::PrivateLinkage,
                              ConstantInt::get(I32, 0), "preempt.poll.zero");
  FunctionCallee Safepoint = pollFunction(M);
  IRBuilder<> B(Before);
  Value *Addr = B.CreateSelect(
      B.CreateICmpEQ(Flag, ConstantPointerNull::get(Flag->getType())), Zero,
      Flag);
  LoadInst *L = B.CreateAlignedLoad(I32, Addr, Align(4), "preempt.stop");
  L->setAtomic(AtomicOrdering::Monotonic);
  Value *Cond = B.CreateICmpNE(L, ConstantInt::get(I32, 0));
  Instruction *Then = SplitBlockAndInsertIfThen(
      Cond, Before->getIterator(), /*Unreachable=*/false,
      MDBuilder(Ctx).createUnlikelyBranchWeights());
  B.SetInsertPoint(Then);
  CallInst *Call = B.CreateCall(Safepoint);
  Call->setDebugLoc(Before->getDebugLoc());
}

bool FunctionUnsafe::run() {
  bool Whole = F.hasFnAttribute(UnsafeFnAttr);
  bool Ranges = explicitRanges();
  if (Failed)
    return false;
  if (!Whole) // the whole function is one range already
    Ranges |= automaticRanges();
  if (!Whole && !Ranges)
    return false;
  for (Instruction *After : PollAfter)
    insertPoll(After->getNextNode());
  if (Whole) {
    SmallVector<ReturnInst *, 4> Rets;
    for (BasicBlock &BB : F)
      if (auto *R = dyn_cast<ReturnInst>(BB.getTerminator()))
        Rets.push_back(R);
    for (ReturnInst *R : Rets)
      insertPoll(R);
  }
  // The polls read memory and call the runtime.
  F.removeFnAttr(Attribute::Memory);
  F.removeFnAttr(Attribute::NoSync);
  F.removeFnAttr(Attribute::WillReturn);
  F.removeFnAttr(Attribute::NoFree);
  return true;
}

// Functions carrying the annotation PREEMPT_UNSAFE expands to.
void markAnnotated(Module &M) {
  GlobalVariable *GV = M.getGlobalVariable("llvm.global.annotations");
  auto *CA = GV ? dyn_cast<ConstantArray>(GV->getInitializer()) : nullptr;
  if (!CA)
    return;
  for (Value *Op : CA->operands()) {
    auto *CS = dyn_cast<ConstantStruct>(Op);
    if (!CS || CS->getNumOperands() < 2)
      continue;
    auto *Fn = dyn_cast<Function>(CS->getOperand(0)->stripPointerCasts());
    auto *Str =
        dyn_cast<GlobalVariable>(CS->getOperand(1)->stripPointerCasts());
    auto *Data = Str && Str->hasInitializer()
                     ? dyn_cast<ConstantDataSequential>(Str->getInitializer())
                     : nullptr;
    if (Fn && Data && Data->isCString() &&
        Data->getAsCString() == UnsafeAnnotation)
      Fn->addFnAttr(UnsafeFnAttr);
  }
}

} // namespace

FunctionCallee pollFunction(Module &M) {
  FunctionCallee F =
      M.getOrInsertFunction(PollFunctionName, Type::getVoidTy(M.getContext()));
  if (auto *Fn = dyn_cast<Function>(F.getCallee()); Fn && Fn->isDeclaration())
    Fn->setLinkage(GlobalValue::ExternalWeakLinkage);
  return F;
}

PreservedAnalyses UnsafePass::run(Module &M, ModuleAnalysisManager &) {
  markAnnotated(M);
  unsigned NextId = 0, Functions = 0;
  bool Changed = false;
  for (Function &F : M) {
    if (F.isDeclaration() || F.hasFnAttribute(Attribute::Naked))
      continue;
    // Any instruction of this code may be where a thread is stopped: the
    // unwinder must find its way out from there, whatever
    // -fno-asynchronous-unwind-tables said.
    if (F.getUWTableKind() != UWTableKind::Async) {
      F.setUWTableKind(UWTableKind::Async);
      Changed = true;
    }
    if (!FunctionUnsafe(F, Optimizing, NextId).run())
      continue;
    Changed = true;
    Functions++;
    if (!F.hasGC()) {
      F.setGC(GCName); // so that codegen calls our table writer
    } else if (F.getGC() != GCName) {
      errs() << "preempt: warning: function '" << F.getName()
             << "' uses GC '" << F.getGC()
             << "'; its unsafe ranges are left out of the table\n";
    }
  }
  if (options().Stats && Functions)
    errs() << "preempt: " << M.getSourceFileName() << ": " << Functions
           << " functions with unsafe ranges\n";
  return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace preempt
