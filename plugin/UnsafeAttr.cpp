// The function attribute behind PREEMPT_UNSAFE when the plugin is loaded
// at parse time: `__attribute__((preempt_unsafe))` or
// `[[preempt::unsafe]]` on a function makes its whole body an unsafe range:
// the runtime never stops a thread asynchronously inside it.
//
// It becomes what preempt.h writes without the plugin (so both give the
// same code, and -fpass-plugin alone still sees it): an `annotate`
// attribute the unsafe-points pass (passes/Unsafe.cpp) reads from
// llvm.global.annotations, and noinline, since a body inlined into its
// callers would no longer be a function of its own to mark.
#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/Basic/ParsedAttrInfo.h"
#include "clang/Sema/ParsedAttr.h"
#include "clang/Sema/Sema.h"

using namespace clang;

namespace {

// Shared with passes/Unsafe.cpp (UnsafeAnnotation).
constexpr const char *Annotation = "preempt_unsafe";

struct UnsafeAttrInfo : public ParsedAttrInfo {
  UnsafeAttrInfo() {
    static constexpr Spelling S[] = {
        {ParsedAttr::AS_GNU, "preempt_unsafe"},
        {ParsedAttr::AS_C23, "preempt::unsafe"},
        {ParsedAttr::AS_CXX11, "preempt::unsafe"},
    };
    Spellings = S;
    // Arguments are parsed (so that misuse gets our message, not a parse
    // error) and refused in handleDeclAttribute.
    OptArgs = 15;
  }

  bool diagAppertainsToDecl(Sema &S, const ParsedAttr &A,
                            const Decl *D) const override {
    if (!isa<FunctionDecl>(D)) {
      S.Diag(A.getLoc(), S.getDiagnostics().getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 applies only to functions"))
          << A;
      return false;
    }
    return true;
  }

  AttrHandling handleDeclAttribute(Sema &S, Decl *D,
                                   const ParsedAttr &A) const override {
    DiagnosticsEngine &Diags = S.getDiagnostics();
    if (A.getNumArgs() > 0) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 takes no arguments: the whole function is "
                             "one unsafe range (use preempt_unsafe_begin/"
                             "preempt_unsafe_end for part of one)"))
          << A;
      return AttributeNotApplied;
    }
    auto *FD = cast<FunctionDecl>(D);
    if (FD->hasAttr<NakedAttr>()) {
      S.Diag(A.getLoc(), Diags.getCustomDiagID(
                             DiagnosticsEngine::Error,
                             "%0 cannot be used on naked function '%1'"))
          << A << FD->getName();
      return AttributeNotApplied;
    }
    D->addAttr(AnnotateAttr::CreateImplicit(S.Context, Annotation, nullptr, 0,
                                            A.getRange()));
    if (!D->hasAttr<NoInlineAttr>())
      D->addAttr(NoInlineAttr::CreateImplicit(S.Context, A.getRange()));
    return AttributeApplied;
  }
};

} // namespace

static ParsedAttrInfoRegistry::Add<UnsafeAttrInfo>
    X("preempt_unsafe", "no asynchronous stop anywhere in this function");
