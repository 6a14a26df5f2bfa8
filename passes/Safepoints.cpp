// The liveness-only safepoint inserter.
//
// Our heap never moves objects, so a call needs no relocation: it only has
// to tell the runtime where every pointer that is live across it can be
// found.  Each call that can reach the runtime gets a "deopt" operand
// bundle listing those values; codegen lowers such a call as a STATEPOINT
// and records each operand's location (a callee-saved register, a spill
// slot, a frame object) without spilling anything itself.  No gc.statepoint
// wrapping, no gc.relocate, no base pointers: the call keeps its own
// attributes, varargs ABI and debug location.
//
// Bundle layout (our own, read back by the map printer):
//   i32 NumValues, NumValues x value, then (base, i64 size) region pairs.
// A value is a pointer (or vector of pointers) that may point into the
// heap, or a word-sized value that may carry one's bits (collectCarriers).  A region is memory inside the frame that
// may hold pointers: an escaped local, a VLA or alloca(), a byval argument.
#include "Liveness.h"
#include "Preempt.h"

#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/PromoteMemToReg.h"

using namespace llvm;

namespace preempt {
namespace {

struct Stats {
  unsigned Functions = 0, Calls = 0, Values = 0, Regions = 0, TailCalls = 0,
           Skipped = 0, Conservative = 0;
};

// Stack or static memory: never a heap object, so not a root value.
bool isStackOrStatic(const Value *V) {
  const Value *U = getUnderlyingObject(V, /*MaxLookup=*/0);
  if (isa<AllocaInst>(U) || isa<Constant>(U))
    return true;
  if (const auto *II = dyn_cast<IntrinsicInst>(U))
    return II->getIntrinsicID() == Intrinsic::stacksave;
  if (const auto *A = dyn_cast<Argument>(U))
    return A->hasByValAttr() || A->hasInAllocaAttr() ||
           A->hasPreallocatedAttr() ||
           A->hasSwiftErrorAttr(); // only loads, stores and calls may use it
  return false;
}

// Types whose values may carry a pointer's bits: pointers, and anything as
// wide as one that is not a pointer in IR.  A union { double d; void *p; }
// becomes double, i64 (when passed or returned: the calling convention
// coerces it) or x86_fp80/vector values after SROA; the pointer survives
// in those bits.
bool isCarrier(Type *T, const DataLayout &DL) {
  if (T->isPtrOrPtrVectorTy())
    return false; // tracked as pointers
  if (!T->isIntegerTy() && !T->isFloatingPointTy() && !T->isVectorTy())
    return false;
  TypeSize Size = DL.getTypeStoreSize(T);
  return !Size.isScalable() && Size.getFixedValue() >= DL.getPointerSize();
}

bool containsRoot(Type *T, const DataLayout &DL) {
  if (T->isPointerTy() || isCarrier(T, DL))
    return true;
  if (auto *ST = dyn_cast<StructType>(T))
    return any_of(ST->elements(),
                  [&](Type *E) { return containsRoot(E, DL); });
  if (auto *AT = dyn_cast<ArrayType>(T))
    return containsRoot(AT->getElementType(), DL);
  return false;
}

// May memory of this type hold a heap pointer?  Types are only advisory in
// IR (unions take their widest member's type, memcpy'd structs, char
// buffers), so anything word-sized counts, floating point and vectors too.
bool mayHoldPointers(Type *T, const DataLayout &DL) {
  if (DL.getTypeAllocSize(T).getKnownMinValue() < DL.getPointerSize())
    return false;
  if (auto *AT = dyn_cast<ArrayType>(T))
    return AT->getElementType()->isIntegerTy(8) ||
           mayHoldPointers(AT->getElementType(), DL);
  if (auto *ST = dyn_cast<StructType>(T))
    return any_of(ST->elements(),
                  [&](Type *E) {
                    return E->isIntegerTy(8) || mayHoldPointers(E, DL);
                  }) ||
           ST->isOpaque();
  return true;
}

// Operations through which a carrier's bits flow on unchanged or in part
// (tags added or masked off): their result carries a pointer if an operand
// does, and is used as one wherever the result is.
bool passesBits(const Instruction &I) {
  if (isa<PHINode>(I) || isa<SelectInst>(I) || isa<FreezeInst>(I))
    return true;
  if (const auto *BO = dyn_cast<BinaryOperator>(&I))
    return BO->getType()->isIntOrIntVectorTy() && !BO->isIntDivRem();
  return false;
}

// Results that hold no pointer whatever their operands: numbers computed by
// floating-point arithmetic, conversions and division.
bool makesNumber(const Instruction &I) {
  if (I.isIntDivRem() || isa<CmpInst>(I))
    return true;
  if (isa<BinaryOperator>(I) || isa<UnaryOperator>(I))
    return I.getType()->isFPOrFPVectorTy();
  switch (I.getOpcode()) {
  case Instruction::ZExt: case Instruction::SExt: case Instruction::Trunc:
  case Instruction::FPToSI: case Instruction::FPToUI: case Instruction::SIToFP:
  case Instruction::UIToFP: case Instruction::FPExt: case Instruction::FPTrunc:
    return true;
  default:
    return false;
  }
}

// Integers that C says are integers: a parameter of integer type (clang
// marks it noundef, never a union or struct coerced to an integer), the
// result of a C library function, a load typed long by TBAA (a union
// member is typed char).  A pointer hidden in such an integer is the
// documented limit of tagged-pointer support.
bool isCInteger(const Value &V, const TargetLibraryInfo &TLI) {
  if (!V.getType()->isIntegerTy())
    return false;
  if (const auto *A = dyn_cast<Argument>(&V))
    return A->hasAttribute(Attribute::NoUndef);
  if (const auto *CB = dyn_cast<CallBase>(&V)) {
    LibFunc LF;
    const Function *Callee = CB->getCalledFunction();
    return Callee && TLI.getLibFunc(*Callee, LF) && TLI.has(LF);
  }
  const auto *LI = dyn_cast<LoadInst>(&V);
  const MDNode *Tag = LI ? LI->getMetadata(LLVMContext::MD_tbaa) : nullptr;
  if (!Tag || Tag->getNumOperands() < 3)
    return false;
  const auto *Access = dyn_cast<MDNode>(Tag->getOperand(1));
  const auto *Name = Access && Access->getNumOperands() > 0
                         ? dyn_cast<MDString>(Access->getOperand(0))
                         : nullptr;
  return Name && (Name->getString() == "long" ||
                  Name->getString() == "long long" ||
                  Name->getString() == "__int128");
}

// Whether the use U of a carrier cannot turn its bits back into a pointer:
// arithmetic on numbers, conversions, a switch or shift amount, an index
// into an object some pointer already keeps.  Everything else (a store, a
// call, a return, inttoptr, bitcast, comparisons, which may test identity)
// counts as a use as a pointer.
bool usedAsNumber(const Use &U) {
  const auto *I = cast<Instruction>(U.getUser());
  if (const auto *Cmp = dyn_cast<ICmpInst>(I))
    return Cmp->isRelational(); // == and != may test identity
  if (makesNumber(*I))
    return true;
  if (isa<SwitchInst>(I))
    return true;
  if (I->isShift() && U.getOperandNo() == 1)
    return true;
  if (const auto *GEP = dyn_cast<GetElementPtrInst>(I))
    return U.getOperandNo() != 0 && !isa<Constant>(GEP->getPointerOperand());
  return false;
}

enum class ItemKind : uint8_t { Value, Aggregate, Region };

struct Item {
  ItemKind Kind;
  Value *V;              // the value, or the region base
  Value *Size = nullptr; // regions: i64 size in bytes
};

class FunctionSafepoints {
public:
  FunctionSafepoints(Function &F, Stats &S, bool Optimizing,
                     const TargetLibraryInfoImpl &TLII)
      : F(F), DL(F.getDataLayout()), Ctx(F.getContext()), S(S),
        Optimizing(Optimizing), TLI(TLII, &F) {}
  bool run();

private:
  Function &F;
  const DataLayout &DL;
  LLVMContext &Ctx;
  Stats &S;
  bool Optimizing;
  TargetLibraryInfo TLI; // which calls are C library functions
  std::optional<Liveness> Live; // built after alloca promotion
  std::vector<Item> Items;
  DenseMap<Value *, unsigned> ValueItem; // for calls replaced by rewrite()
  SmallVector<CallBase *, 16> Calls;
  // Static escaped allocas tracked by lifetime markers, and what is live
  // at each call from them (indices into Items).
  DenseMap<Instruction *, SmallVector<unsigned, 4>> MarkerRegions;

  bool promoteAllocas();
  bool usesSwiftError() const;
  bool isSafepoint(const CallBase &CB) const;
  bool leaveForTailCall(const CallBase &CB) const;
  void collectValues();
  void collectCarriers();
  void collectRegions();
  void addValueItem(Value *V, ItemKind K);
  void addUses(unsigned Idx, Value *V);
  unsigned addRegionItem(Value *Base, Value *Size, Instruction *Def);
  void addDerivedUses(unsigned Idx, Value *Base);
  void markerLiveness(unsigned Idx, AllocaInst *AI,
                      ArrayRef<IntrinsicInst *> Markers);
  void rewrite(CallBase *CB, ArrayRef<unsigned> LiveItems);
  void mergeRegions(SmallVectorImpl<Value *> &Regions);
};

bool FunctionSafepoints::usesSwiftError() const {
  for (const Argument &A : F.args())
    if (A.hasSwiftErrorAttr())
      return true;
  for (const Instruction &I : F.getEntryBlock())
    if (const auto *AI = dyn_cast<AllocaInst>(&I); AI && AI->isSwiftError())
      return true;
  return false;
}

bool FunctionSafepoints::promoteAllocas() {
  // At -O0 every local is an alloca; promoting them keeps -O0 maps and
  // compile time close to -O1 instead of recording every local as memory.
  SmallVector<AllocaInst *, 16> Promotable;
  for (Instruction &I : F.getEntryBlock())
    if (auto *AI = dyn_cast<AllocaInst>(&I))
      if (isAllocaPromotable(AI) && !AI->isSwiftError())
        Promotable.push_back(AI);
  if (Promotable.empty())
    return false;
  DominatorTree DT(F);
  PromoteMemToReg(Promotable, DT);
  return true;
}

bool FunctionSafepoints::isSafepoint(const CallBase &CB) const {
  if (CB.isInlineAsm() || isa<CallBrInst>(CB))
    return false;
  if (const Function *Callee = CB.getCalledFunction()) {
    if (Callee->isIntrinsic())
      return false; // cannot call back; libcall lowerings (memcpy) neither
    if (Callee->hasFnAttribute("preempt-no-safepoint") ||
        Callee->hasFnAttribute("gc-leaf-function"))
      return false;
  }
  if (CB.hasFnAttr("gc-leaf-function"))
    return false;
  if (CB.hasFnAttr(Attribute::ReturnsTwice))
    return false; // setjmp: the second return must not depend on our maps
  for (unsigned I = 0; I < CB.arg_size(); ++I)
    if (CB.paramHasAttr(I, Attribute::SwiftError))
      return false; // swifterror lives in a register codegen must not touch
  if (auto *CI = dyn_cast<CallInst>(&CB); CI && CI->isMustTailCall())
    return false; // the caller's frame is gone during the call
  if (CB.hasOperandBundles()) {
    S.Skipped++; // funclet, kcfi, ptrauth...: not combinable with deopt
    return false;
  }
  return true;
}

// A call in return position that codegen will usually turn into a jump: its
// frame is gone during the call, and nothing of ours is live across it.
// Wrapping it would cost the sibling-call optimisation.  If codegen keeps a
// frame anyway, the runtime finds no record there and scans it
// conservatively.
bool FunctionSafepoints::leaveForTailCall(const CallBase &CB) const {
  const auto *CI = dyn_cast<CallInst>(&CB);
  if (!CI || !CI->isTailCall())
    return false;
  const auto *Ret = dyn_cast<ReturnInst>(CI->getNextNode());
  return Ret && (!Ret->getReturnValue() || Ret->getReturnValue() == CI);
}

void FunctionSafepoints::addValueItem(Value *V, ItemKind K) {
  auto *I = dyn_cast<Instruction>(V);
  if (I && !Live->reachable(I->getParent()))
    return;
  unsigned Idx = Live->addItem(I);
  Items.push_back({K, V});
  ValueItem[V] = Idx;
  addUses(Idx, V);
}

void FunctionSafepoints::addUses(unsigned Idx, Value *V) {
  for (Use &U : V->uses()) {
    auto *User = cast<Instruction>(U.getUser());
    if (auto *Phi = dyn_cast<PHINode>(User))
      Live->addUse(Idx, Phi, Phi->getIncomingBlock(U));
    else
      Live->addUse(Idx, User);
  }
}

// A pointer derived from another by inbounds arithmetic points into the
// same object (or just past it), so the base keeps that object alive: its
// uses count as uses of the base, and only the base is recorded.  One root
// where an interpreter has a dozen derived addresses, and no register
// spent on each at every call.
void FunctionSafepoints::collectValues() {
  SmallVector<std::pair<Value *, Value *>, 16> Derived; // (derived, base)
  auto Consider = [&](Value *V) {
    Type *T = V->getType();
    if (T->isPtrOrPtrVectorTy()) {
      if (isStackOrStatic(V))
        return;
      Value *Base = T->isPointerTy() ? V->stripInBoundsOffsets() : V;
      if (Base != V && (isa<Argument>(Base) || isa<Instruction>(Base)))
        Derived.push_back({V, Base});
      else
        addValueItem(V, ItemKind::Value);
    } else if ((T->isStructTy() || T->isArrayTy()) && containsRoot(T, DL)) {
      addValueItem(V, ItemKind::Aggregate);
    }
  };
  for (Argument &A : F.args())
    Consider(&A);
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      Consider(&I);
  collectCarriers();
  for (auto &[V, Base] : Derived) {
    auto *I = dyn_cast<Instruction>(V);
    auto It = ValueItem.find(Base);
    if (I && !Live->reachable(I->getParent()))
      continue;
    if (It != ValueItem.end())
      addUses(It->second, V);
    else
      addValueItem(V, ItemKind::Value); // base not trackable: keep V itself
  }
}

// Non-pointer values that may hold a pointer's bits (see isCarrier) are
// roots if they may come from a pointer (anything but a number computed
// here: a load, call, argument, ptrtoint, bitcast, ...) and may be used as
// one (stored, passed, returned, converted back, compared).  Both are
// closed over passesBits: tags added to a loaded word, a phi of such words.
// Numbers (loop counters, floating-point results, sizes only compared)
// are left out, so numeric code pays nothing.
void FunctionSafepoints::collectCarriers() {
  SmallPtrSet<Value *, 32> FromPtr, AsPtr;
  SmallVector<Value *, 32> Work;
  auto Seed = [&](Value *V) {
    if (!isCarrier(V->getType(), DL))
      return;
    auto *I = dyn_cast<Instruction>(V);
    if ((I && (makesNumber(*I) || passesBits(*I))) || isCInteger(*V, TLI))
      return;
    if (auto *P2I = dyn_cast_or_null<PtrToIntInst>(I);
        P2I && isStackOrStatic(P2I->getOperand(0)))
      return;
    if (FromPtr.insert(V).second)
      Work.push_back(V);
  };
  for (Argument &A : F.args())
    Seed(&A);
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      Seed(&I);
  while (!Work.empty()) {
    Value *V = Work.pop_back_val();
    for (User *U : V->users())
      if (auto *UI = dyn_cast<Instruction>(U);
          UI && passesBits(*UI) && isCarrier(UI->getType(), DL) &&
          FromPtr.insert(UI).second)
        Work.push_back(UI);
  }
  // Backwards from the uses as a pointer.
  auto Flows = [&](const Use &U) { // U's value reaches U's user as bits
    auto *UI = cast<Instruction>(U.getUser());
    return !usedAsNumber(U) && passesBits(*UI) && isCarrier(UI->getType(), DL);
  };
  for (Value *V : FromPtr)
    if (any_of(V->uses(),
               [&](const Use &U) { return !usedAsNumber(U) && !Flows(U); }))
      if (AsPtr.insert(V).second)
        Work.push_back(V);
  while (!Work.empty()) {
    auto *UI = dyn_cast<Instruction>(Work.pop_back_val());
    if (!UI || !passesBits(*UI))
      continue;
    for (Use &Op : UI->operands())
      if (FromPtr.count(Op.get()) && Flows(Op) && AsPtr.insert(Op.get()).second)
        Work.push_back(Op.get());
  }
  // In function order, so that maps do not depend on pointer hashes.
  for (Argument &A : F.args())
    if (AsPtr.count(&A))
      addValueItem(&A, ItemKind::Value);
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      if (AsPtr.count(&I))
        addValueItem(&I, ItemKind::Value);
}

unsigned FunctionSafepoints::addRegionItem(Value *Base, Value *Size,
                                           Instruction *Def) {
  unsigned Idx = Live->addItem(Def, /*LiveDuringUse=*/true);
  Items.push_back({ItemKind::Region, Base, Size});
  return Idx;
}

// A region is live wherever a pointer derived from its base is.
void FunctionSafepoints::addDerivedUses(unsigned Idx, Value *Base) {
  SmallPtrSet<Value *, 16> Seen{Base};
  SmallVector<Value *, 16> Work{Base};
  while (!Work.empty()) {
    Value *V = Work.pop_back_val();
    addUses(Idx, V);
    for (User *User : V->users())
      if ((isa<GetElementPtrInst>(User) || isa<CastInst>(User) ||
           isa<PHINode>(User) || isa<SelectInst>(User)) &&
          Seen.insert(User).second)
        Work.push_back(User);
  }
}

// 1 after lifetime.start(AI), 0 after lifetime.end(AI), -1 for others.
static int lifetimeEffect(const Instruction &I, const AllocaInst *AI) {
  const auto *II = dyn_cast<IntrinsicInst>(&I);
  if (!II || !II->isLifetimeStartOrEnd() ||
      II->getArgOperand(1)->stripPointerCasts() != AI)
    return -1;
  return II->getIntrinsicID() == Intrinsic::lifetime_start;
}

// Escaped locals with lifetime markers are live from a lifetime.start until
// the matching end along every path: a forward may-analysis over blocks.
void FunctionSafepoints::markerLiveness(unsigned Idx, AllocaInst *AI,
                                        ArrayRef<IntrinsicInst *> Markers) {
  SmallPtrSet<BasicBlock *, 8> HasMarker;
  for (IntrinsicInst *M : Markers)
    HasMarker.insert(M->getParent());
  // The state after the instructions of BB before Stop (all if null).
  auto StateAt = [&](BasicBlock *BB, bool St, const Instruction *Stop) {
    for (Instruction &I : *BB) {
      if (&I == Stop)
        break;
      if (int E = lifetimeEffect(I, AI); E >= 0)
        St = E;
    }
    return St;
  };
  DenseMap<BasicBlock *, bool> In;
  SmallVector<BasicBlock *, 16> Work;
  for (IntrinsicInst *M : Markers)
    if (M->getIntrinsicID() == Intrinsic::lifetime_start)
      Work.push_back(M->getParent());
  // Blocks whose entry state is "live" reach a fixpoint monotonically.
  while (!Work.empty()) {
    BasicBlock *BB = Work.pop_back_val();
    bool Out = HasMarker.count(BB) ? StateAt(BB, In.lookup(BB), nullptr)
                                   : In.lookup(BB);
    if (!Out)
      continue;
    for (BasicBlock *Succ : successors(BB))
      if (!In.lookup(Succ)) {
        In[Succ] = true;
        Work.push_back(Succ);
      }
  }
  for (CallBase *CB : Calls) {
    BasicBlock *BB = CB->getParent();
    bool St = In.lookup(BB);
    if (HasMarker.count(BB))
      St = StateAt(BB, St, CB);
    if (St)
      MarkerRegions[CB].push_back(Idx);
  }
}

void FunctionSafepoints::collectRegions() {
  Type *I64 = Type::getInt64Ty(Ctx);
  for (Argument &A : F.args())
    if (A.hasByValAttr() && mayHoldPointers(A.getParamByValType(), DL)) {
      unsigned Idx = addRegionItem(
          &A, ConstantInt::get(I64, DL.getTypeAllocSize(A.getParamByValType())),
          nullptr);
      // The caller's copy exists for the whole call.
      for (CallBase *CB : Calls)
        MarkerRegions[CB].push_back(Idx);
    }

  SmallVector<AllocaInst *, 8> Allocas;
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      if (auto *AI = dyn_cast<AllocaInst>(&I))
        if (Live->reachable(&BB))
          Allocas.push_back(AI);

  for (AllocaInst *AI : Allocas) {
    Type *T = AI->getAllocatedType();
    if (AI->isSwiftError())
      continue; // a register in disguise, not memory
    if (AI->isStaticAlloca()) {
      if (!mayHoldPointers(T, DL))
        continue;
      uint64_t Size = *AI->getAllocationSize(DL);
      unsigned Idx = addRegionItem(AI, ConstantInt::get(I64, Size), nullptr);
      SmallVector<IntrinsicInst *, 4> Markers;
      bool MarkersOnAlloca = true;
      for (User *U : AI->users())
        if (auto *II = dyn_cast<IntrinsicInst>(U))
          if (II->isLifetimeStartOrEnd())
            Markers.push_back(II);
      for (IntrinsicInst *M : Markers)
        MarkersOnAlloca &= M->getArgOperand(1) == AI;
      if (!Markers.empty() && MarkersOnAlloca) {
        markerLiveness(Idx, AI, Markers);
      } else {
        for (CallBase *CB : Calls)
          MarkerRegions[CB].push_back(Idx);
      }
      continue;
    }
    // alloca() or a VLA: the size is only known at run time, so it becomes
    // a value kept beside the base for as long as the memory is reachable.
    IRBuilder<> B(AI->getNextNode());
    Value *N = B.CreateZExtOrTrunc(AI->getArraySize(), I64);
    Value *Size = B.CreateMul(N, ConstantInt::get(I64, DL.getTypeAllocSize(T)),
                              AI->getName() + ".preempt.size");
    auto *Def = dyn_cast<Instruction>(Size);
    unsigned Idx = addRegionItem(AI, Size, Def ? Def : AI);
    addDerivedUses(Idx, AI);
  }
}

// Regions at constant offsets from one base (the locals AddressSanitizer
// carves out of its frame, fields of one escaped struct) become a single
// region from that base: one location instead of one register each, and
// scanning the gaps between them is harmless.
void FunctionSafepoints::mergeRegions(SmallVectorImpl<Value *> &Regions) {
  // Sanitizers run after us and move locals into a frame of their own,
  // each local then a separate computed address: one register per local at
  // every call.  Scan such frames whole instead.
  if (!Regions.empty() &&
      (F.hasFnAttribute(Attribute::SanitizeAddress) ||
       F.hasFnAttribute(Attribute::SanitizeHWAddress) ||
       F.hasFnAttribute(Attribute::SanitizeMemTag))) {
    Regions.assign({ConstantPointerNull::get(PointerType::get(Ctx, 0)),
                    ConstantInt::get(Type::getInt64Ty(Ctx), 0)});
    return;
  }
  struct Span {
    Value *Base;
    int64_t End;
  };
  SmallVector<Span, 4> Merged;
  SmallVector<Value *, 8> Dynamic;
  for (unsigned I = 0; I < Regions.size(); I += 2) {
    auto *Size = dyn_cast<ConstantInt>(Regions[I + 1]);
    APInt Off(DL.getIndexTypeSizeInBits(Regions[I]->getType()), 0);
    Value *Base = Regions[I]->stripAndAccumulateConstantOffsets(
        DL, Off, /*AllowNonInbounds=*/false);
    if (!Size || Off.isNegative()) {
      Dynamic.push_back(Regions[I]);
      Dynamic.push_back(Regions[I + 1]);
      continue;
    }
    int64_t End = Off.getSExtValue() + int64_t(Size->getZExtValue());
    auto It = find_if(Merged, [&](const Span &M) { return M.Base == Base; });
    if (It == Merged.end())
      Merged.push_back({Base, End});
    else
      It->End = std::max(It->End, End);
  }
  Regions.assign(Dynamic.begin(), Dynamic.end());
  for (const Span &M : Merged) {
    Regions.push_back(M.Base);
    Regions.push_back(ConstantInt::get(Type::getInt64Ty(Ctx), M.End));
  }
}

void FunctionSafepoints::rewrite(CallBase *CB, ArrayRef<unsigned> LiveItems) {
  SmallVector<Value *, 16> Ops{nullptr};
  SmallVector<Value *, 8> Regions;
  IRBuilder<> B(CB);
  // A value whose size is not a whole number of words (x86_fp80: 10 bytes)
  // may be spilled to a slot that is not word-aligned, which the map
  // format cannot describe; its first word, as an integer, can be.
  auto AddValue = [&](Value *V) {
    uint64_t Bits = DL.getTypeStoreSizeInBits(V->getType()).getFixedValue();
    if (isCarrier(V->getType(), DL) && Bits % DL.getPointerSizeInBits()) {
      V = B.CreateBitCast(V, B.getIntNTy(DL.getTypeSizeInBits(V->getType())));
      V = B.CreateTrunc(V, B.getIntNTy(DL.getPointerSizeInBits()));
    }
    Ops.push_back(V);
  };
  auto AddLeaves = [&](auto &Self, Value *Agg, Type *T,
                       SmallVectorImpl<unsigned> &Path) -> void {
    if (T->isPointerTy() || isCarrier(T, DL)) {
      AddValue(B.CreateExtractValue(Agg, Path));
      return;
    }
    auto Recurse = [&](unsigned N, Type *E) {
      if (!containsRoot(E, DL))
        return;
      Path.push_back(N);
      Self(Self, Agg, E, Path);
      Path.pop_back();
    };
    if (auto *ST = dyn_cast<StructType>(T))
      for (unsigned N = 0; N < ST->getNumElements(); ++N)
        Recurse(N, ST->getElementType(N));
    else if (auto *AT = dyn_cast<ArrayType>(T))
      for (unsigned N = 0; N < AT->getNumElements(); ++N)
        Recurse(N, AT->getElementType());
  };
  for (unsigned Idx : LiveItems) {
    const Item &It = Items[Idx];
    if (It.Kind == ItemKind::Value) {
      AddValue(It.V);
    } else if (It.Kind == ItemKind::Aggregate) {
      SmallVector<unsigned, 4> Path;
      AddLeaves(AddLeaves, It.V, It.V->getType(), Path);
    } else {
      Regions.push_back(It.V);
      Regions.push_back(It.Size);
    }
  }
  unsigned NumValues = Ops.size() - 1;
  Ops[0] = ConstantInt::get(Type::getInt32Ty(Ctx), NumValues);
  mergeRegions(Regions);
  Ops.append(Regions.begin(), Regions.end());
  S.Calls++;
  S.Values += NumValues;
  S.Regions += Regions.size() / 2;

  CallBase *New = CallBase::addOperandBundle(
      CB, LLVMContext::OB_deopt, OperandBundleDef("deopt", Ops),
      CB->getIterator());
  New->copyMetadata(*CB);
  New->takeName(CB);
  CB->replaceAllUsesWith(New);
  if (auto It = ValueItem.find(CB); It != ValueItem.end())
    Items[It->second].V = New; // live at later calls still to rewrite
  CB->eraseFromParent();
}

bool FunctionSafepoints::run() {
  if (F.isDeclaration() || F.hasFnAttribute(Attribute::Naked) ||
      F.hasFnAttribute("preempt-no-safepoint"))
    return false;
  if (F.hasGC() && F.getGC() != GCName) {
    errs() << "preempt: warning: function '" << F.getName()
           << "' already uses GC '" << F.getGC() << "'; left without maps\n";
    return false;
  }
  // At -O0, swifterror values live in a register tracked across FastISel
  // and SelectionDAG blocks, and our statepoints (lowered by SelectionDAG)
  // lose it.  Such frames are scanned conservatively instead.
  if (!Optimizing && usesSwiftError()) {
    S.Conservative++;
    return false;
  }
  bool Changed = promoteAllocas();
  Live.emplace(F);

  SmallVector<CallInst *, 4> Markers = collectKeepAlives(F);
  for (BasicBlock &BB : F) {
    if (!Live->reachable(&BB))
      continue;
    for (Instruction &I : BB)
      if (auto *CB = dyn_cast<CallBase>(&I))
        if (isSafepoint(*CB)) {
          if (leaveForTailCall(*CB))
            S.TailCalls++;
          else
            Calls.push_back(CB);
        }
  }
  if (Calls.empty()) {
    eraseKeepAlives(Markers);
    return Changed || !Markers.empty();
  }

  collectValues();
  collectRegions();

  SmallVector<Instruction *, 16> Points(Calls.begin(), Calls.end());
  auto LiveAt = Live->liveAfter(Points);
  for (CallBase *CB : Calls) {
    SmallVector<unsigned, 16> LiveItems(LiveAt.lookup(CB));
    for (unsigned Idx : MarkerRegions.lookup(CB))
      LiveItems.push_back(Idx);
    rewrite(CB, LiveItems);
  }
  eraseKeepAlives(Markers);
  F.setGC(GCName);
  // FixupStatepointCallerSaved, which moves roots out of registers the call
  // clobbers, skips optnone functions.  At -O0 roots are spilled by
  // statepoint lowering instead; an optnone function in optimised code
  // loses the attribute (codegen still follows the -O level).
  if (Optimizing)
    F.removeFnAttr(Attribute::OptimizeNone);
  S.Functions++;
  return true;
}

} // namespace

PreservedAnalyses SafepointsPass::run(Module &M, ModuleAnalysisManager &) {
  // clang marks modules it compiles for LTO; their code would be generated
  // at link time, without our GC strategy and printer.
  if (M.getModuleFlag("ThinLTO") || M.getModuleFlag("EnableSplitLTOUnit")) {
    M.getContext().emitError(
        "preempt: -flto is not supported: the link-time code generator "
        "would compile this code without the plugin and drop its stack "
        "maps; build without -flto");
    return PreservedAnalyses::all();
  }
  configureCodegen(Optimizing);
  Stats S;
  bool Changed = false;
  TargetLibraryInfoImpl TLII(Triple(M.getTargetTriple()));
  for (Function &F : M)
    Changed |= FunctionSafepoints(F, S, Optimizing, TLII).run();
  if (options().Stats)
    errs() << "preempt: " << M.getSourceFileName() << ": " << S.Functions
           << " functions, " << S.Calls << " safepoints, " << S.Values
           << " root values, " << S.Regions << " root regions, "
           << S.TailCalls << " tail calls left for the sibling-call optimisation, "
           << S.Skipped << " calls with other operand bundles left without maps, "
           << S.Conservative << " functions left to conservative scanning\n";
  return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace preempt
