// The "preempt" GC strategy and its metadata printer.
//
// The strategy says no pointer is GC-managed: to codegen, our bundle
// operands are plain deopt values, which may stay in registers (no forced
// spills, no relocations).  The printer replaces LLVM's default stack-map
// emission: it writes our compact note (runtime/map_format.h), which the
// runtime reads, and a copy of LLVM's StackMap v3 for llvm-readobj in a
// non-allocated section, so its absolute addresses never need dynamic
// relocations (no DT_TEXTREL in PIE or shared objects).
#include "Preempt.h"

#include "../runtime/arch.h"
#include "../runtime/map_format.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/CodeGen/AsmPrinter.h"
#include "llvm/CodeGen/GCMetadataPrinter.h"
#include "llvm/CodeGen/StackMaps.h"
#include "llvm/IR/GCStrategy.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCExpr.h"
#include "llvm/MC/MCSectionELF.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/Support/LEB128.h"

using namespace llvm;
using Location = StackMaps::Location;

namespace preempt {
namespace {

class PreemptStrategy : public GCStrategy {
public:
  PreemptStrategy() {
    UseStatepoints = true;
    UsesMetadata = true; // so that AsmPrinter asks our printer for the maps
  }
  std::optional<bool> isGCManagedPointer(const Type *) const override {
    return false;
  }
};

class MapWriter {
public:
  MapWriter(StackMaps &SM, AsmPrinter &AP)
      : SM(SM), Ctx(AP.OutContext), OS(*AP.OutStreamer) {}

  void emitNote();
  void emitLLVMStackMaps();

private:
  StackMaps &SM;
  MCContext &Ctx;
  MCStreamer &OS;

  struct Run { // records of one function in one section
    size_t First, Count;
    const MCSymbol *Fn;
  };
  void emitNoteFor(ArrayRef<Run> Runs, const MCSectionELF &Code);

  const MCExpr *ref(const MCSymbol *S) {
    return MCSymbolRefExpr::create(S, Ctx);
  }
  const MCSymbol *returnLabel(const StackMaps::CallsiteInfo &CS) {
    return &cast<MCSymbolRefExpr>(cast<MCBinaryExpr>(CS.CSOffsetExpr)->getLHS())
                ->getSymbol();
  }
  void error(const Twine &Msg) { Ctx.reportError(SMLoc(), "preempt: " + Msg); }
  void emitRecord(const StackMaps::CallsiteInfo &CS, const MCSymbol *Prev,
                  const MCSymbol *Fn);
  void emitLoc(const Location &L, bool IsRegionBase, bool IsSize,
               const MCSymbol *Fn);
};

void MapWriter::emitLoc(const Location &L, bool IsRegionBase, bool IsSize,
                        const MCSymbol *Fn) {
  auto Head = [&](unsigned Kind, unsigned Reg) {
    // The runtime reads general-purpose registers only.  (A root in one a
    // preserve_most/preserve_all callee keeps but the C ABI does not makes
    // the runtime reject the maps; see README.)
    if (Kind != PREEMPT_LOC_CONST && Reg >= PREEMPT_DWARF_NUM_GPRS)
      error("root in DWARF register " + Twine(Reg) + " in " + Fn->getName());
    OS.emitInt8(Kind << PREEMPT_LOC_KIND_SHIFT | (Reg & PREEMPT_LOC_REG_MASK));
  };
  auto Offset = [&](int64_t Off) {
    OS.emitSLEB128IntValue(Off % 8 == 0 ? (Off / 8) * 2 : Off * 2 + 1);
  };
  switch (L.Type) {
  case Location::Register:
    Head(PREEMPT_LOC_REG, L.Reg);
    return;
  case Location::Direct:
    if (IsRegionBase) {
      Head(PREEMPT_LOC_DIRECT, L.Reg);
      Offset(L.Offset);
      return;
    }
    // A stack-passed argument is lowered as its frame slot: the value
    // lives in memory there.
    [[fallthrough]];
  case Location::Indirect:
    if (L.Size == 8 || IsRegionBase || IsSize) {
      Head(PREEMPT_LOC_IND, L.Reg);
      Offset(L.Offset);
    } else {
      Head(PREEMPT_LOC_IND_N, L.Reg);
      Offset(L.Offset);
      OS.emitULEB128IntValue(L.Size);
    }
    return;
  case Location::Constant:
    Head(PREEMPT_LOC_CONST, 0);
    OS.emitULEB128IntValue(uint32_t(L.Offset));
    return;
  default:
    error("unexpected stack map location kind " + Twine(unsigned(L.Type)) +
          " in " + Fn->getName());
    Head(PREEMPT_LOC_CONST, 0);
    OS.emitULEB128IntValue(0);
  }
}

void MapWriter::emitRecord(const StackMaps::CallsiteInfo &CS,
                           const MCSymbol *Prev, const MCSymbol *Fn) {
  // Statepoint locations: cc, flags, #deopt, then our bundle.
  const auto &Locs = CS.Locations;
  auto IsConst = [](const Location &L) { return L.Type == Location::Constant; };
  if (Locs.size() < 4 || !IsConst(Locs[2]) || !IsConst(Locs[3]) ||
      uint64_t(Locs[2].Offset) + 3 != Locs.size() ||
      uint64_t(Locs[3].Offset) > Locs.size() - 4 ||
      (Locs.size() - 4 - Locs[3].Offset) % 2) {
    error("malformed safepoint record in " + Fn->getName() +
          " (was the IR produced by a different preempt version?)");
    return;
  }
  unsigned NumValues = Locs[3].Offset;
  unsigned NumRegions = (Locs.size() - 4 - NumValues) / 2;
  // Constants among the values (a pointer folded to null, say) are no
  // roots; drop them.
  unsigned Kept = 0;
  for (unsigned I = 0; I < NumValues; ++I)
    Kept += !IsConst(Locs[4 + I]) && Locs[4 + I].Type != Location::ConstantIndex;

  if (Prev)
    OS.emitULEB128Value(MCBinaryExpr::createSub(ref(returnLabel(CS)),
                                                ref(Prev), Ctx));
  OS.emitULEB128IntValue(Kept);
  OS.emitULEB128IntValue(NumRegions);
  for (unsigned I = 0; I < NumValues; ++I) {
    const Location &L = Locs[4 + I];
    if (!IsConst(L) && L.Type != Location::ConstantIndex)
      emitLoc(L, false, false, Fn);
  }
  for (unsigned R = 0; R < NumRegions; ++R) {
    emitLoc(Locs[4 + NumValues + 2 * R], true, false, Fn);
    emitLoc(Locs[4 + NumValues + 2 * R + 1], false, true, Fn);
  }
}

// Records are grouped into runs: consecutive records of one function in
// one section (basic-block sections can split a function), so that the
// address deltas inside a run are assembly-time constants.
void MapWriter::emitNote() {
  auto &FnInfos = SM.getFnInfos();
  auto &CSInfos = SM.getCSInfos();
  if (CSInfos.empty())
    return;
  SmallVector<Run, 16> Runs;
  size_t CS = 0;
  for (auto &FI : FnInfos) {
    for (uint64_t R = 0; R < FI.second.RecordCount && CS < CSInfos.size();
         ++R, ++CS) {
      const MCSymbol *L = returnLabel(CSInfos[CS]);
      if (R == 0 || !L->isInSection() ||
          &returnLabel(CSInfos[CS - 1])->getSection() != &L->getSection())
        Runs.push_back({CS, 0, FI.first});
      Runs.back().Count++;
    }
  }
  if (CS != CSInfos.size())
    error("stack map record counts do not add up");

  // One note per code section, linked to it (SHF_LINK_ORDER) and in its
  // COMDAT group if any: when the linker discards the code (--gc-sections,
  // duplicate C++ inline functions), it discards the note with it, and the
  // note never keeps code alive.
  SmallVector<const MCSection *, 4> Sections;
  for (const Run &R : Runs) {
    const MCSection *Sec = &returnLabel(CSInfos[R.First])->getSection();
    if (!is_contained(Sections, Sec))
      Sections.push_back(Sec);
  }
  for (const MCSection *Sec : Sections) {
    SmallVector<Run, 16> Mine;
    for (const Run &R : Runs)
      if (&returnLabel(CSInfos[R.First])->getSection() == Sec)
        Mine.push_back(R);
    emitNoteFor(Mine, cast<MCSectionELF>(*Sec));
  }
}

void MapWriter::emitNoteFor(ArrayRef<Run> Runs, const MCSectionELF &Code) {
  auto &CSInfos = SM.getCSInfos();
  unsigned Records = 0;
  for (const Run &R : Runs)
    Records += R.Count;
  const MCSymbolELF *Group = Code.isComdat() ? Code.getGroup() : nullptr;
  // The section is keyed by the linked symbol's name: a return label has
  // none in object output (every note would share one section, and
  // --gc-sections could no longer drop a function's maps with it), the
  // function's symbol has one.
  const auto *Linked = cast<MCSymbolELF>(returnLabel(CSInfos[Runs[0].First]));
  if (Runs[0].Fn->isInSection() && &Runs[0].Fn->getSection() == &Code)
    Linked = cast<MCSymbolELF>(Runs[0].Fn);
  OS.switchSection(Ctx.getELFSection(
      ".note.preempt", ELF::SHT_NOTE,
      ELF::SHF_ALLOC | ELF::SHF_LINK_ORDER | (Group ? ELF::SHF_GROUP : 0), 0,
      Group, /*IsComdat=*/Group != nullptr, MCSection::NonUniqueID, Linked));
  OS.emitValueToAlignment(Align(4));
  MCSymbol *DescBegin = Ctx.createTempSymbol("preempt_desc");
  MCSymbol *DescEnd = Ctx.createTempSymbol("preempt_desc_end");
  MCSymbol *BlobBegin = Ctx.createTempSymbol("preempt_blob");
  OS.emitInt32(PREEMPT_NOTE_NAMESZ);
  OS.emitValue(MCBinaryExpr::createSub(ref(DescEnd), ref(DescBegin), Ctx), 4);
  OS.emitInt32(PREEMPT_NOTE_MAPS);
  OS.emitBytes(StringRef(PREEMPT_NOTE_NAME "\0", PREEMPT_NOTE_NAMESZ));
  OS.emitLabel(DescBegin);
  OS.emitInt8(PREEMPT_MAP_VERSION);
  OS.emitInt8(PREEMPT_ARCH_MAP_ID);
  OS.emitInt16(0);
  OS.emitInt32(Runs.size());
  OS.emitInt32(Records);
  OS.emitValue(MCBinaryExpr::createSub(ref(DescEnd), ref(BlobBegin), Ctx), 4);
  for (const Run &R : Runs) {
    MCSymbol *Here = Ctx.createTempSymbol();
    OS.emitLabel(Here);
    OS.emitValue(MCBinaryExpr::createSub(ref(returnLabel(CSInfos[R.First])),
                                         ref(Here), Ctx),
                 4);
    OS.emitInt32(R.Count);
  }
  OS.emitLabel(BlobBegin);
  for (const Run &R : Runs)
    for (size_t I = R.First; I < R.First + R.Count; ++I)
      emitRecord(CSInfos[I], I > R.First ? returnLabel(CSInfos[I - 1]) : nullptr,
                 R.Fn);
  OS.emitLabel(DescEnd);
  OS.emitValueToAlignment(Align(4));
}

// LLVM's StackMap v3, byte for byte as StackMaps::serializeToStackMapSection
// writes it, but in a section without SHF_ALLOC.
void MapWriter::emitLLVMStackMaps() {
  auto &FnInfos = SM.getFnInfos();
  auto &CSInfos = SM.getCSInfos();
  if (CSInfos.empty())
    return;
  // LLVM's format gives call sites as offsets from their function, which
  // basic-block sections make impossible; our note does not need them.
  size_t CS = 0;
  for (auto &FI : FnInfos)
    for (uint64_t R = 0; R < FI.second.RecordCount; ++R, ++CS) {
      const MCSymbol *L = returnLabel(CSInfos[CS]);
      if (!L->isInSection() || !FI.first->isInSection() ||
          &L->getSection() != &FI.first->getSection()) {
        Ctx.reportWarning(SMLoc(), "preempt: function " + FI.first->getName() +
                                       " spans several sections; the copy of "
                                       "the maps in LLVM's format (.llvm_stackmaps) "
                                       "is left out");
        return;
      }
    }
  // A unique ID: MC already knows ".llvm_stackmaps" as an allocated section.
  OS.switchSection(Ctx.getELFSection(".llvm_stackmaps", ELF::SHT_PROGBITS, 0,
                                     0, "", false, /*UniqueID=*/1, nullptr));
  OS.emitValueToAlignment(Align(8));
  OS.emitInt8(3);
  OS.emitInt8(0);
  OS.emitInt16(0);
  OS.emitInt32(FnInfos.size());
  OS.emitInt32(0); // constants: our bundles only hold small ones
  OS.emitInt32(CSInfos.size());
  for (auto &FI : FnInfos) {
    OS.emitSymbolValue(FI.first, 8);
    OS.emitIntValue(FI.second.StackSize, 8);
    OS.emitIntValue(FI.second.RecordCount, 8);
  }
  for (auto &CS : CSInfos) {
    OS.emitIntValue(CS.ID, 8);
    OS.emitValue(CS.CSOffsetExpr, 4);
    OS.emitInt16(0);
    OS.emitInt16(CS.Locations.size());
    for (const Location &L : CS.Locations) {
      bool Pooled = L.Type == Location::ConstantIndex;
      OS.emitIntValue(Pooled ? Location::Constant : L.Type, 1);
      OS.emitIntValue(0, 1);
      OS.emitInt16(L.Size);
      OS.emitInt16(L.Reg);
      OS.emitInt16(0);
      OS.emitInt32(Pooled ? -1 : L.Offset);
    }
    OS.emitValueToAlignment(Align(8));
    OS.emitInt16(0);
    OS.emitInt16(CS.LiveOuts.size());
    for (const auto &LO : CS.LiveOuts) {
      OS.emitInt16(LO.DwarfRegNum);
      OS.emitInt8(0);
      OS.emitInt8(LO.Size);
    }
    OS.emitValueToAlignment(Align(8));
  }
}

class PreemptPrinter : public GCMetadataPrinter {
public:
  void beginAssembly(Module &, GCModuleInfo &, AsmPrinter &AP) override {
    addUnsafeTableWriter(AP); // unsafe-point tables (UnsafeTable.cpp)
  }
  bool emitStackMaps(StackMaps &SM, AsmPrinter &AP) override {
    MapWriter W(SM, AP);
    W.emitNote();
    if (options().EmitLLVMStackMaps)
      W.emitLLVMStackMaps();
    SM.reset();
    return true;
  }
};

GCRegistry::Add<PreemptStrategy>
    RegisterStrategy(GCName, "preempt: liveness-only precise stack maps");
GCMetadataPrinterRegistry::Add<PreemptPrinter>
    RegisterPrinter(GCName, "preempt: compact map note");

} // namespace

Options &options() {
  static Options O;
  return O;
}

} // namespace preempt
