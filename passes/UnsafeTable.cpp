// Unsafe points, the code-emission half: the table of unsafe ranges
// (runtime/map_format.h, PREEMPT_NOTE_UNSAFE), computed on the final
// machine code.
//
// A handler added to the AsmPrinter sees each function just before it is
// written out, after block placement and every other code motion.  From
// each begin marker (Unsafe.cpp) it follows the machine CFG until the end
// marker of the same range closes it; what it reached is unsafe.  Laid out
// in address order, the reached instructions form runs; each run gets a
// label before its first instruction and after its last (pre- and
// post-instruction symbols, which the printer emits), and becomes one
// entry.  A function marked preempt-unsafe is one run per code section,
// prologue and epilogue included.  So the table is right whatever the code
// generator did with the blocks in between: split, duplicated, moved out
// of line.
//
// The entries of a function go into a note of their own, linked to its code
// section (SHF_LINK_ORDER) and in its COMDAT group like the stack maps: the
// linker drops them with the code.
#include "Preempt.h"

#include "../runtime/arch.h"
#include "../runtime/map_format.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/CodeGen/AsmPrinter.h"
#include "llvm/CodeGen/AsmPrinterHandler.h"
#include "llvm/CodeGen/MachineFunction.h"
#include "llvm/CodeGen/MachineInstr.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCExpr.h"
#include "llvm/MC/MCSectionELF.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/MC/MCSymbolELF.h"

using namespace llvm;

namespace preempt {
namespace {

struct Marker {
  bool Begin;
  unsigned Kind, Id, Arg;
};

// Parses "<marker> kind id arg $0".
std::optional<Marker> parseMarker(const MachineInstr &MI) {
  if (!MI.isInlineAsm())
    return std::nullopt;
  StringRef S = MI.getOperand(InlineAsm::MIOp_AsmString).getSymbolName();
  Marker M;
  if (S.consume_front(UnsafeBeginMarker))
    M.Begin = true;
  else if (S.consume_front(UnsafeEndMarker))
    M.Begin = false;
  else
    return std::nullopt;
  S = S.ltrim();
  if (S.consumeInteger(10, M.Kind))
    return std::nullopt;
  S = S.ltrim();
  if (S.consumeInteger(10, M.Id))
    return std::nullopt;
  S = S.ltrim();
  if (S.consumeInteger(10, M.Arg))
    return std::nullopt;
  return M;
}

class UnsafeTableWriter : public AsmPrinterHandler {
public:
  explicit UnsafeTableWriter(AsmPrinter &AP) : AP(AP) {}
  void endModule() override {}
  void beginFunction(const MachineFunction *MF) override;
  void endFunction(const MachineFunction *MF) override;

private:
  AsmPrinter &AP;
  struct Entry {
    MCSymbol *Start, *End;
    unsigned Kind, Line;
  };
  SmallVector<Entry, 8> Entries; // of the function being emitted

  void addRuns(MachineFunction &MF, const DenseSet<const MachineInstr *> &Cov,
               unsigned Kind, unsigned Line);
  void emitNote(ArrayRef<Entry> Es);
};

// What a range reaches from its begin marker B: every instruction on a
// path from B that does not pass the end marker closing it.
void reach(MachineInstr &B, const Marker &M,
           DenseSet<const MachineInstr *> &Cov) {
  auto Closes = [&](const MachineInstr &MI) {
    std::optional<Marker> E = parseMarker(MI);
    return E && !E->Begin && E->Kind == M.Kind && E->Id == M.Id && E->Arg;
  };
  SmallVector<std::pair<MachineBasicBlock *, MachineBasicBlock::iterator>, 8>
      Work{{B.getParent(), B.getIterator()}};
  SmallPtrSet<MachineBasicBlock *, 16> Entered;
  while (!Work.empty()) {
    auto [MBB, It] = Work.pop_back_val();
    for (; It != MBB->end(); ++It) {
      if (Closes(*It))
        break;
      Cov.insert(&*It);
    }
    if (It != MBB->end())
      continue;
    for (MachineBasicBlock *S : MBB->successors())
      if (Entered.insert(S).second)
        Work.push_back({S, S->begin()});
  }
}

// Instructions that emit no bytes (debug values, CFI, our markers, an
// empty asm) may lie inside a run but make none: a run must hold a byte.
bool emitsCode(const MachineInstr &MI) {
  if (MI.isInlineAsm())
    return !parseMarker(MI) &&
           !StringRef(MI.getOperand(InlineAsm::MIOp_AsmString).getSymbolName())
                .trim()
                .empty();
  return !MI.isMetaInstruction();
}

void UnsafeTableWriter::addRuns(MachineFunction &MF,
                                const DenseSet<const MachineInstr *> &Cov,
                                unsigned Kind, unsigned Line) {
  MCContext &Ctx = MF.getContext();
  MachineInstr *First = nullptr, *Last = nullptr; // Last: last with code
  auto Close = [&] {
    if (First && Last) {
      MCSymbol *S = First->getPreInstrSymbol();
      if (!S) {
        S = Ctx.createNamedTempSymbol("preempt_unsafe"); // named: it keys the note section
        First->setPreInstrSymbol(MF, S);
      }
      MCSymbol *E = Last->getPostInstrSymbol();
      if (!E) {
        E = Ctx.createTempSymbol("preempt_unsafe_end");
        Last->setPostInstrSymbol(MF, E);
      }
      Entries.push_back({S, E, Kind, Line});
    }
    First = Last = nullptr;
  };
  for (MachineBasicBlock &MBB : MF) {
    if (MBB.isBeginSection() && &MBB != &MF.front())
      Close(); // another section: addresses do not continue
    for (MachineInstr &MI : MBB) {
      if (Cov.count(&MI)) {
        if (!First)
          First = &MI;
        if (emitsCode(MI))
          Last = &MI;
      } else if (emitsCode(MI)) {
        Close();
      }
    }
  }
  Close();
}

void UnsafeTableWriter::beginFunction(const MachineFunction *CMF) {
  Entries.clear();
  // The symbols we attach change nothing but where labels are printed.
  auto &MF = const_cast<MachineFunction &>(*CMF);
  const Function &F = MF.getFunction();
  if (F.hasGC() && F.getGC() != GCName)
    return;
  if (F.hasFnAttribute(UnsafeFnAttr)) {
    DenseSet<const MachineInstr *> All;
    for (MachineBasicBlock &MBB : MF)
      for (MachineInstr &MI : MBB)
        All.insert(&MI);
    const DISubprogram *SP = F.getSubprogram();
    addRuns(MF, All, PREEMPT_UNSAFE_FUNCTION, SP ? SP->getLine() : 0);
  }
  // Ranges of one id (an automatic range has one begin per ptrtoint) are
  // reached together; explicit ranges each from their own begin.
  MapVector<std::pair<unsigned, unsigned>,
            std::pair<DenseSet<const MachineInstr *>, unsigned>>
      Ranges;
  unsigned Explicit = 0;
  for (MachineBasicBlock &MBB : MF)
    for (MachineInstr &MI : MBB) {
      std::optional<Marker> M = parseMarker(MI);
      if (!M || !M->Begin)
        continue;
      std::pair<unsigned, unsigned> Key{M->Kind, M->Id};
      if (M->Kind == PREEMPT_UNSAFE_RANGE)
        Key.second = ++Explicit;
      auto &R = Ranges[Key];
      if (R.first.empty())
        R.second = M->Arg;
      reach(MI, *M, R.first);
    }
  for (auto &[Key, R] : Ranges)
    addRuns(MF, R.first, Key.first, R.second);
}

void UnsafeTableWriter::endFunction(const MachineFunction *) {
  // One note per code section the entries are in.
  SmallVector<const MCSection *, 2> Sections;
  for (const Entry &E : Entries)
    if (!is_contained(Sections, &E.Start->getSection()))
      Sections.push_back(&E.Start->getSection());
  for (const MCSection *Sec : Sections) {
    SmallVector<Entry, 8> Mine;
    for (const Entry &E : Entries)
      if (&E.Start->getSection() == Sec)
        Mine.push_back(E);
    emitNote(Mine);
  }
  Entries.clear();
}

void UnsafeTableWriter::emitNote(ArrayRef<Entry> Es) {
  MCContext &Ctx = AP.OutContext;
  MCStreamer &OS = *AP.OutStreamer;
  const auto &Code = cast<MCSectionELF>(Es[0].Start->getSection());
  const MCSymbolELF *Group = Code.isComdat() ? Code.getGroup() : nullptr;
  OS.pushSection();
  OS.switchSection(Ctx.getELFSection(
      ".note.preempt", ELF::SHT_NOTE,
      ELF::SHF_ALLOC | ELF::SHF_LINK_ORDER | (Group ? ELF::SHF_GROUP : 0), 0,
      Group, /*IsComdat=*/Group != nullptr, MCSection::NonUniqueID,
      cast<MCSymbolELF>(Es[0].Start)));
  OS.emitValueToAlignment(Align(4));
  OS.emitInt32(PREEMPT_NOTE_NAMESZ);
  OS.emitInt32(sizeof(preempt_unsafe_header) +
               Es.size() * sizeof(preempt_unsafe_range));
  OS.emitInt32(PREEMPT_NOTE_UNSAFE);
  OS.emitBytes(StringRef(PREEMPT_NOTE_NAME "\0", PREEMPT_NOTE_NAMESZ));
  OS.emitInt8(PREEMPT_UNSAFE_VERSION);
  OS.emitInt8(PREEMPT_ARCH_MAP_ID);
  OS.emitInt16(0);
  OS.emitInt32(Es.size());
  auto SelfRelative = [&](MCSymbol *To) {
    MCSymbol *Here = Ctx.createTempSymbol();
    OS.emitLabel(Here);
    OS.emitValue(MCBinaryExpr::createSub(MCSymbolRefExpr::create(To, Ctx),
                                         MCSymbolRefExpr::create(Here, Ctx),
                                         Ctx),
                 4);
  };
  for (const Entry &E : Es) {
    SelfRelative(E.Start);
    SelfRelative(E.End);
    OS.emitInt32(E.Line);
    OS.emitInt16(E.Kind);
    OS.emitInt16(0);
  }
  OS.popSection();
}

} // namespace

void addUnsafeTableWriter(AsmPrinter &AP) {
  AP.addAsmPrinterHandler(std::make_unique<UnsafeTableWriter>(AP));
}

} // namespace preempt
