// keep_alive lowering: preempt_keep_alive(p) is an empty inline asm that
// reads p.  Without the plugin that asm alone keeps p alive (it must be in
// a register there).  With the plugin, the safepoint pass counts it as a use
// of p, so p stays in the maps of every call before it, and then deletes it:
// zero instructions, like Go's OpKeepAlive.
#include "Preempt.h"

#include "llvm/IR/Function.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/Instructions.h"

using namespace llvm;

namespace preempt {

bool isKeepAliveMarker(const CallInst &CI) {
  const auto *IA = dyn_cast<InlineAsm>(CI.getCalledOperand());
  return IA && IA->getAsmString() == KeepAliveAsm && CI.arg_size() == 1;
}

SmallVector<CallInst *, 4> collectKeepAlives(Function &F) {
  SmallVector<CallInst *, 4> Markers;
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      if (auto *CI = dyn_cast<CallInst>(&I))
        if (isKeepAliveMarker(*CI))
          Markers.push_back(CI);
  return Markers;
}

void eraseKeepAlives(ArrayRef<CallInst *> Markers) {
  for (CallInst *CI : Markers)
    CI->eraseFromParent();
}

} // namespace preempt
