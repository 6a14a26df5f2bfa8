#include "Liveness.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DepthFirstIterator.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Instructions.h"

using namespace llvm;

namespace preempt {

Liveness::Liveness(Function &Fn) : F(Fn) {
  for (BasicBlock *BB : depth_first(&F.getEntryBlock())) {
    BlockIndex[BB] = Blocks.size();
    Blocks.push_back(BB);
  }
}

unsigned Liveness::addItem(Instruction *Def, bool LiveDuringUse) {
  Defs.push_back(Def);
  DuringUse.push_back(LiveDuringUse);
  UseBlocks.emplace_back();
  return Defs.size() - 1;
}

void Liveness::addUse(unsigned Item, Instruction *User, BasicBlock *PhiPred) {
  if (PhiPred) {
    if (reachable(PhiPred) && reachable(User->getParent()))
      UseBlocks[Item].push_back({PhiPred, true});
    return;
  }
  if (!reachable(User->getParent()))
    return;
  UsesAt[User].push_back(Item);
  UseBlocks[Item].push_back({User->getParent(), false});
}

DenseMap<Instruction *, SmallVector<unsigned, 8>>
Liveness::liveAfter(ArrayRef<Instruction *> Points) {
  const unsigned NB = Blocks.size(), NI = Defs.size();
  std::vector<SmallVector<unsigned, 8>> LiveOut(NB);
  std::vector<unsigned> StampIn(NB, ~0u), StampOut(NB, ~0u);
  SmallVector<std::pair<unsigned, bool>, 32> Work; // (block, is live-out)

  for (unsigned It = 0; It < NI; ++It) {
    const BasicBlock *DefBB =
        Defs[It] ? Defs[It]->getParent() : &F.getEntryBlock();
    if (!reachable(DefBB))
      continue;
    for (auto &[BB, OutOnly] : UseBlocks[It]) {
      // A non-PHI use in the defining block follows the definition (SSA
      // dominance); the in-block walk below handles it.
      if (!OutOnly && BB == DefBB)
        continue;
      Work.push_back({BlockIndex[BB], OutOnly});
    }
    while (!Work.empty()) {
      auto [B, Out] = Work.pop_back_val();
      if (Out) {
        if (StampOut[B] == It)
          continue;
        StampOut[B] = It;
        LiveOut[B].push_back(It);
        if (Blocks[B] != DefBB)
          Work.push_back({B, false});
      } else {
        if (StampIn[B] == It)
          continue;
        StampIn[B] = It;
        for (BasicBlock *P : predecessors(Blocks[B]))
          if (reachable(P))
            Work.push_back({BlockIndex[P], true});
      }
    }
  }

  DenseMap<Instruction *, unsigned> DefIndex;
  for (unsigned It = 0; It < NI; ++It)
    if (Defs[It])
      DefIndex[Defs[It]] = It;
  DenseMap<BasicBlock *, SmallVector<Instruction *, 4>> PointsIn;
  for (Instruction *P : Points)
    if (reachable(P->getParent()))
      PointsIn[P->getParent()].push_back(P);

  DenseMap<Instruction *, SmallVector<unsigned, 8>> Result;
  BitVector Live(NI);
  for (auto &[BB, Ps] : PointsIn) {
    SmallPtrSet<Instruction *, 8> Wanted(Ps.begin(), Ps.end());
    Live.reset();
    for (unsigned It : LiveOut[BlockIndex[BB]])
      Live.set(It);
    for (Instruction &I : reverse(*BB)) {
      if (isa<PHINode>(I))
        break;
      if (auto D = DefIndex.find(&I); D != DefIndex.end())
        Live.reset(D->second);
      auto U = UsesAt.find(&I);
      if (Wanted.count(&I)) {
        BitVector Snap = Live;
        if (U != UsesAt.end())
          for (unsigned It : U->second)
            if (DuringUse[It])
              Snap.set(It);
        auto &Out = Result[&I];
        for (unsigned It : Snap.set_bits())
          Out.push_back(It);
      }
      if (U != UsesAt.end())
        for (unsigned It : U->second)
          Live.set(It);
    }
  }
  return Result;
}

} // namespace preempt
