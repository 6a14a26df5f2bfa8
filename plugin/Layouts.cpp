// Type layouts from the AST: for each preempt_new(T) / preempt_new_array(T, n)
// (a call of preempt__alloc_slot whose size is sizeof(T), or
// preempt__array_size(sizeof(T), n), and whose name is the literal #T),
// which words of T may hold a pointer and the names of those fields.  The
// IR pass (passes/Layouts.cpp) turns each into a constant and passes it to
// the runtime; by then the type is gone from the IR (opaque pointers, and
// unions lowered to one member).
//
// A word may hold a pointer if it holds, or overlaps, a data pointer, a
// pointer-sized integer named intptr_t or uintptr_t (C programs keep
// pointers there), or any member of a union that does.  A type with a
// pointer that is not word-aligned (packed), or with a flexible array
// member, gets no layout: it stays conservative.
#include "../passes/Preempt.h"
#include "../runtime/layout_format.h"

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/RecordLayout.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/Basic/TargetInfo.h"

#include <map>

using namespace clang;

namespace {

struct Word {
  bool Pointer = false;
  std::string Name; // of the first pointer field seen at this word
};

class LayoutBuilder {
public:
  explicit LayoutBuilder(ASTContext &C)
      : Ctx(C), WordBytes(C.getTargetInfo().getPointerWidth(LangAS::Default) / 8) {}

  // False if T cannot be described (the allocation stays conservative).
  bool build(QualType T, std::vector<Word> &Words) {
    CharUnits Size = Ctx.getTypeSizeInChars(T);
    Words.assign((size_t)((Size.getQuantity() + WordBytes - 1) / WordBytes),
                 Word());
    return add(T, 0, "", Words);
  }

private:
  ASTContext &Ctx;
  uint64_t WordBytes;

  static bool isPointerSizedIntName(QualType T) {
    // Walk the typedef sugar: uintptr_t -> __uintptr_t -> unsigned long.
    while (const auto *TT = T->getAs<TypedefType>()) {
      StringRef N = TT->getDecl()->getName();
      if (N == "intptr_t" || N == "uintptr_t" || N == "__intptr_t" ||
          N == "__uintptr_t")
        return true;
      T = TT->getDecl()->getUnderlyingType();
    }
    return false;
  }

  bool holdsPointer(QualType T) {
    if (isPointerSizedIntName(T))
      return true;
    QualType C = T.getCanonicalType();
    if (const auto *A = C->getAs<AtomicType>())
      C = A->getValueType().getCanonicalType();
    if (const auto *P = C->getAs<PointerType>())
      return !P->getPointeeType()->isFunctionType(); // code is never in the heap
    return C->isBlockPointerType() || C->isObjCObjectPointerType();
  }

  bool add(QualType T, uint64_t Offset, const std::string &Name,
           std::vector<Word> &Words) {
    if (holdsPointer(T)) {
      if (Offset % WordBytes)
        return false; // packed: a pointer no aligned word holds
      Word &W = Words[Offset / WordBytes];
      if (!W.Pointer) {
        W.Pointer = true;
        W.Name = Name.empty() ? "*" : Name;
      }
      return true;
    }
    QualType C = T.getCanonicalType();
    if (const auto *A = C->getAs<AtomicType>())
      C = A->getValueType().getCanonicalType();
    if (const auto *CA = Ctx.getAsConstantArrayType(C)) {
      QualType E = CA->getElementType();
      uint64_t N = CA->getSize().getZExtValue();
      uint64_t ES = (uint64_t)Ctx.getTypeSizeInChars(E).getQuantity();
      for (uint64_t I = 0; I < N; I++)
        if (!add(E, Offset + I * ES, Name + "[" + std::to_string(I) + "]", Words))
          return false;
      return true;
    }
    if (C->isIncompleteArrayType() || C->isVariableArrayType())
      return false; // flexible array member: its extent is the object's
    if (const auto *RT = C->getAs<RecordType>()) {
      const RecordDecl *RD = RT->getDecl()->getDefinition();
      if (!RD)
        return false;
      const ASTRecordLayout &L = Ctx.getASTRecordLayout(RD);
      unsigned I = 0;
      for (const FieldDecl *F : RD->fields()) {
        uint64_t Bits = L.getFieldOffset(I++);
        if (F->isBitField())
          continue; // no pointer fits a bit-field
        std::string FN = F->getName().str();
        if (FN.empty())
          FN = "(anonymous)";
        std::string Full = Name.empty() ? FN : Name + "." + FN;
        if (!add(F->getType(), Offset + Bits / 8, Full, Words))
          return false;
      }
      return true;
    }
    return true; // scalars that are not pointers, enums, vectors: no pointer
  }
};

// The blob of runtime/layout_format.h.
std::string encode(const std::vector<Word> &Words, uint64_t Size, bool Array,
                   uint64_t WordBytes) {
  std::vector<uint32_t> Head = {PREEMPT_LAYOUT_MAGIC, (uint32_t)Size,
                                Array ? PREEMPT_LAYOUT_ARRAY : 0u, 0, 0};
  std::string Names;
  std::vector<uint32_t> Ptrs;
  for (size_t I = 0; I < Words.size(); I++)
    if (Words[I].Pointer) {
      Ptrs.push_back((uint32_t)(I * WordBytes));
      Ptrs.push_back((uint32_t)Names.size());
      Names += Words[I].Name;
      Names.push_back('\0');
    }
  Head[3] = (uint32_t)(Ptrs.size() / 2);
  Head[4] = (uint32_t)Names.size();
  std::string Out;
  auto Put = [&](uint32_t V) { Out.append((const char *)&V, 4); };
  for (uint32_t V : Head)
    Put(V);
  for (uint32_t V : Ptrs)
    Put(V);
  return Out + Names;
}

const Expr *strip(const Expr *E) { return E->IgnoreParenImpCasts(); }

class Finder : public RecursiveASTVisitor<Finder> {
public:
  explicit Finder(ASTContext &C) : Ctx(C) {}

  bool VisitCallExpr(CallExpr *CE) {
    const FunctionDecl *FD = CE->getDirectCallee();
    if (!FD || FD->getName() != "preempt__alloc_slot" || CE->getNumArgs() != 3)
      return true;
    const auto *Name = dyn_cast<StringLiteral>(strip(CE->getArg(1)));
    if (!Name || !Name->isOrdinary())
      return true;
    const Expr *SizeE = strip(CE->getArg(0));
    bool Array = false;
    if (const auto *Call = dyn_cast<CallExpr>(SizeE)) { // preempt_new_array
      const FunctionDecl *SF = Call->getDirectCallee();
      if (!SF || SF->getName() != "preempt__array_size" || Call->getNumArgs() != 2)
        return true;
      SizeE = strip(Call->getArg(0));
      Array = true;
    }
    const auto *SO = dyn_cast<UnaryExprOrTypeTraitExpr>(SizeE);
    if (!SO || SO->getKind() != UETT_SizeOf)
      return true;
    QualType T = SO->getTypeOfArgument();
    if (T->isDependentType() || T->isIncompleteType())
      return true;
    std::string Key = Name->getString().str();
    std::vector<Word> Words;
    LayoutBuilder B(Ctx);
    std::string Blob;
    if (B.build(T, Words))
      Blob = encode(Words, (uint64_t)Ctx.getTypeSizeInChars(T).getQuantity(),
                    Array, Ctx.getTargetInfo().getPointerWidth(LangAS::Default) / 8);
    auto &Map = preempt::typeLayouts();
    auto It = Map.find(Key);
    if (It == Map.end())
      Map.emplace(Key, Blob);
    else if (It->second != Blob)
      It->second.clear(); // one name, two layouts in this file: conservative
    return true;
  }

private:
  ASTContext &Ctx;
};

class LayoutConsumer : public ASTConsumer {
public:
  void Initialize(ASTContext &) override { preempt::typeLayouts().clear(); }
  bool HandleTopLevelDecl(DeclGroupRef G) override {
    for (Decl *D : G) {
      Finder F(D->getASTContext());
      F.TraverseDecl(D);
    }
    return true;
  }
};

} // namespace

namespace preempt {
std::unique_ptr<clang::ASTConsumer> makeLayoutConsumer() {
  return std::make_unique<LayoutConsumer>();
}
} // namespace preempt
