// Blocking C library calls become blocking transitions.
//
// The runtime stops running threads with a signal; sleeping, polling,
// semaphore and socket calls are not restarted after its handler (even
// with SA_RESTART) and would fail with EINTR.  Every direct call (or
// invoke) of a function listed in runtime/blocking.def, with the listed
// IR type, is sent to the runtime's wrapper preempt_blocking_<name>
// instead, which makes the call inside a blocking region: the thread is
// never signalled there.
//
// The wrapper is referenced weakly and called only if it is there:
//   %has = icmp ne ptr @preempt_blocking_poll, null
//   %fn = select i1 %has, ptr @preempt_blocking_poll, ptr @poll
//   call i32 %fn(...)
// so that code built with the plugin still links and runs without the
// runtime (same output, as the corpus tests check), where nothing stops
// threads.  Runs just before SafepointsPass, which gives the call its map.
//
// Left alone: indirect calls (through a pointer, whatever it points to),
// calls of a function the module defines itself under a listed name (not
// the C library's), calls whose IR type differs from the table's, and
// calls in functions marked "preempt-no-safepoint".
#include "Preempt.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace preempt {
namespace {

struct BlockingCall {
  const char *Name;
  const char *Sig; // return type, then parameters: i = i32, l = i64, p = ptr
};

const BlockingCall Table[] = {
#define PREEMPT_BLOCKING_CALL(ret, name, params, args, keep, sig) {#name, sig},
#include "../runtime/blocking.def"
#undef PREEMPT_BLOCKING_CALL
};

Type *sigType(char C, LLVMContext &Ctx) {
  switch (C) {
  case 'i':
    return Type::getInt32Ty(Ctx);
  case 'l':
    return Type::getInt64Ty(Ctx);
  case 'p':
    return PointerType::getUnqual(Ctx);
  }
  report_fatal_error(Twine("preempt: runtime/blocking.def: unknown type code '") +
                     Twine(C) + "'");
}

bool matches(const FunctionType *FT, StringRef Sig, LLVMContext &Ctx) {
  if (FT->isVarArg() || FT->getNumParams() + 1 != Sig.size() ||
      FT->getReturnType() != sigType(Sig[0], Ctx))
    return false;
  for (unsigned I = 0; I < FT->getNumParams(); ++I)
    if (FT->getParamType(I) != sigType(Sig[I + 1], Ctx))
      return false;
  return true;
}

// The wrapper, as an extern_weak declaration unless the module already
// has that name.
Function *wrapperFor(Module &M, const Function &Libc) {
  std::string Name = ("preempt_blocking_" + Libc.getName()).str();
  if (Function *W = M.getFunction(Name))
    return W->getFunctionType() == Libc.getFunctionType() ? W : nullptr;
  if (M.getNamedValue(Name))
    return nullptr; // a global variable of that name: not ours to call
  return Function::Create(Libc.getFunctionType(),
                          GlobalValue::ExternalWeakLinkage, Name, M);
}

} // namespace

PreservedAnalyses BlockingCallsPass::run(Module &M, ModuleAnalysisManager &) {
  LLVMContext &Ctx = M.getContext();
  unsigned Redirected = 0;
  for (const BlockingCall &E : Table) {
    Function *Libc = M.getFunction(E.Name);
    // A definition of our own (available_externally bodies, such as
    // glibc's _FORTIFY_SOURCE inlines, are still the library's).
    if (!Libc || !Libc->isDeclarationForLinker() ||
        !matches(Libc->getFunctionType(), E.Sig, Ctx))
      continue;
    SmallVector<CallBase *, 8> Calls;
    for (Use &U : Libc->uses()) {
      auto *CB = dyn_cast<CallBase>(U.getUser());
      if (CB && CB->isCallee(&U) &&
          CB->getFunctionType() == Libc->getFunctionType() &&
          !CB->getFunction()->hasFnAttribute("preempt-no-safepoint"))
        Calls.push_back(CB);
    }
    if (Calls.empty())
      continue;
    Function *W = wrapperFor(M, *Libc);
    if (!W)
      continue;
    for (CallBase *CB : Calls) {
      IRBuilder<> B(CB);
      Value *Has = B.CreateICmpNE(W, ConstantPointerNull::get(W->getType()),
                                  Twine("preempt.has.") + E.Name);
      CB->setCalledOperand(B.CreateSelect(Has, W, Libc));
      // What the library function's declaration promised about memory
      // no longer describes the callee, which also touches the runtime's.
      CB->removeFnAttr(Attribute::Memory);
      Redirected++;
    }
  }
  if (options().Stats && Redirected)
    errs() << "preempt: " << M.getSourceFileName() << ": " << Redirected
           << " blocking calls made blocking transitions\n";
  return Redirected ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

} // namespace preempt
