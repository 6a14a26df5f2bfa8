// Passes the AST's type layouts to the runtime (see Preempt.h): each call
// preempt__alloc_slot(size, "T", slot) whose name has a layout becomes
// preempt__alloc_layout(size, "T", slot, @layout), @layout a private
// constant holding the blob of runtime/layout_format.h.
#include "Preempt.h"

#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

using namespace llvm;

namespace preempt {

std::map<std::string, std::string> &typeLayouts() {
  static std::map<std::string, std::string> Map;
  return Map;
}

PreservedAnalyses LayoutsPass::run(Module &M, ModuleAnalysisManager &) {
  const auto &Map = typeLayouts();
  Function *Slot = M.getFunction("preempt__alloc_slot");
  if (Map.empty() || !Slot || !options().Layouts)
    return PreservedAnalyses::all();
  LLVMContext &C = M.getContext();
  FunctionType *SlotTy = Slot->getFunctionType();
  if (SlotTy->getNumParams() != 3)
    return PreservedAnalyses::all();
  SmallVector<Type *, 4> Params(SlotTy->params());
  Params.push_back(PointerType::get(C, 0));
  FunctionCallee Layout = M.getOrInsertFunction(
      "preempt__alloc_layout",
      FunctionType::get(SlotTy->getReturnType(), Params, false),
      Slot->getAttributes());
  std::map<std::string, GlobalVariable *> Blobs;
  bool Changed = false;
  for (Use &U : make_early_inc_range(Slot->uses())) {
    auto *CI = dyn_cast<CallInst>(U.getUser());
    if (!CI || CI->getCalledOperand() != Slot)
      continue;
    StringRef Name;
    if (!getConstantStringInfo(CI->getArgOperand(1), Name))
      continue;
    auto It = Map.find(Name.str());
    if (It == Map.end() || It->second.empty())
      continue;
    GlobalVariable *&G = Blobs[It->first];
    if (!G) {
      Constant *Data = ConstantDataArray::getRaw(
          It->second, It->second.size(), Type::getInt8Ty(C));
      G = new GlobalVariable(M, Data->getType(), true,
                             GlobalValue::PrivateLinkage, Data,
                             "preempt.layout");
      G->setAlignment(Align(4));
      G->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    }
    IRBuilder<> B(CI);
    SmallVector<Value *, 4> Args(CI->args());
    Args.push_back(G);
    CallInst *New = B.CreateCall(Layout, Args);
    New->setCallingConv(CI->getCallingConv());
    New->setAttributes(CI->getAttributes());
    New->setTailCallKind(CI->getTailCallKind());
    New->setDebugLoc(CI->getDebugLoc());
    New->takeName(CI);
    CI->replaceAllUsesWith(New);
    CI->eraseFromParent();
    Changed = true;
  }
  return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace preempt
