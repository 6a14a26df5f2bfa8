// The variable attribute behind PREEMPT_KEEP_ALIVE when the plugin is
// loaded at parse time: `__attribute__((preempt_keep_alive))` or
// `[[preempt::keep_alive]]` on a local pointer keeps its value alive to the
// end of the scope.  It attaches the same cleanup that preempt.h uses
// without the plugin (so both give the same code), after checking what the
// plain cleanup attribute cannot: that the variable is a local pointer.
#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/Basic/ParsedAttrInfo.h"
#include "clang/Basic/TargetInfo.h"
#include "clang/Sema/Lookup.h"
#include "clang/Sema/ParsedAttr.h"
#include "clang/Sema/Sema.h"
#include "clang/Sema/SemaDiagnostic.h"

using namespace clang;

namespace {

constexpr const char *CleanupName = "preempt__keep_alive_cleanup";

struct KeepAliveAttrInfo : public ParsedAttrInfo {
  KeepAliveAttrInfo() {
    static constexpr Spelling S[] = {
        {ParsedAttr::AS_GNU, "preempt_keep_alive"},
        {ParsedAttr::AS_C23, "preempt::keep_alive"},
        {ParsedAttr::AS_CXX11, "preempt::keep_alive"},
    };
    Spellings = S;
    OptArgs = 0;
  }

  bool diagAppertainsToDecl(Sema &S, const ParsedAttr &A,
                            const Decl *D) const override {
    const auto *VD = dyn_cast<VarDecl>(D);
    if (!VD || !VD->hasLocalStorage() || isa<ParmVarDecl>(VD)) {
      S.Diag(A.getLoc(), S.getDiagnostics().getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 applies only to local variables"))
          << A;
      return false;
    }
    return true;
  }

  AttrHandling handleDeclAttribute(Sema &S, Decl *D,
                                   const ParsedAttr &A) const override {
    auto *VD = cast<VarDecl>(D);
    DiagnosticsEngine &Diags = S.getDiagnostics();
    QualType T = VD->getType();
    if (!T->isPointerType() && !T->isIntegerType()) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 needs a pointer variable; '%1' has type %2"))
          << A << VD->getName() << T;
      return AttributeNotApplied;
    }
    if (T->isIntegerType() &&
        S.Context.getTypeSize(T) != S.Context.getTargetInfo().getPointerWidth(
                                        LangAS::Default)) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 on integer '%1' needs a pointer-sized type "
                             "such as uintptr_t"))
          << A << VD->getName();
      return AttributeNotApplied;
    }
    LookupResult R(S, &S.Context.Idents.get(CleanupName), A.getLoc(),
                   Sema::LookupOrdinaryName);
    auto *FD = S.LookupName(R, S.TUScope) ? R.getAsSingle<FunctionDecl>()
                                           : nullptr;
    if (!FD) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 needs #include <preempt.h>"))
          << A;
      return AttributeNotApplied;
    }
    if (VD->hasAttr<CleanupAttr>()) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 cannot be combined with a cleanup "
                             "attribute on '%1'"))
          << A << VD->getName();
      return AttributeNotApplied;
    }
    D->addAttr(CleanupAttr::CreateImplicit(S.Context, FD, A.getRange()));
    FD->setIsUsed();
    return AttributeApplied;
  }
};

} // namespace

static ParsedAttrInfoRegistry::Add<KeepAliveAttrInfo>
    X("preempt_keep_alive", "keep a local pointer alive to the end of scope");
