// Liveness of tracked items at chosen instructions, by SSA path
// exploration: each item is walked backwards from its uses to its
// definition, so the cost follows the size of live ranges rather than
// (items x blocks) as a bit-vector dataflow would.
#ifndef PREEMPT_PASSES_LIVENESS_H
#define PREEMPT_PASSES_LIVENESS_H

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace llvm {
class BasicBlock;
class Function;
class Instruction;
} // namespace llvm

namespace preempt {

class Liveness {
public:
  explicit Liveness(llvm::Function &F);

  // An item is defined by Def (nullptr: at function entry, e.g. an argument)
  // and used by the instructions added with addUse.  Returns its index.
  // LiveDuringUse: memory a call uses is live during that call, while a
  // value passed to a call is the callee's business.
  unsigned addItem(llvm::Instruction *Def, bool LiveDuringUse = false);
  // A use of Item at User.  For a PHI user, PhiPred is the incoming block:
  // the item is then live at the end of that block, not at the PHI.
  void addUse(unsigned Item, llvm::Instruction *User,
              llvm::BasicBlock *PhiPred = nullptr);

  // Items live just after each instruction in Points (its own result
  // excluded, its operands not counted unless used later).
  llvm::DenseMap<llvm::Instruction *, llvm::SmallVector<unsigned, 8>>
  liveAfter(llvm::ArrayRef<llvm::Instruction *> Points);

  bool reachable(const llvm::BasicBlock *BB) const {
    return BlockIndex.count(BB) != 0;
  }

private:
  llvm::Function &F;
  llvm::DenseMap<const llvm::BasicBlock *, unsigned> BlockIndex; // reachable
  std::vector<llvm::BasicBlock *> Blocks;
  std::vector<llvm::Instruction *> Defs;
  std::vector<bool> DuringUse;
  llvm::DenseMap<llvm::Instruction *, llvm::SmallVector<unsigned, 2>> UsesAt;
  std::vector<llvm::SmallVector<std::pair<llvm::BasicBlock *, bool>, 4>>
      UseBlocks; // per item: (block, live-out-only)
};

} // namespace preempt

#endif
