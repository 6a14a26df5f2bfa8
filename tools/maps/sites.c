/* preempt-maps: call sites, the function containing each and its callee,
 * decoded from the call instruction that ends at the return address. */
#include "maps.h"

#include <inttypes.h>
#include <string.h>

/* Is p[0, len) exactly one indirect near call (ff /2, with prefixes and
 * REX allowed)? */
static bool is_indirect_call(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len && (p[i] == 0x3e || p[i] == 0x2e || p[i] == 0x26 ||
                     p[i] == 0x36 || p[i] == 0x64 || p[i] == 0x65 ||
                     p[i] == 0x67 || p[i] == 0xf2))
    i++;
  if (i < len && (p[i] & 0xf0) == 0x40)
    i++;
  if (len - i < 2 || p[i] != 0xff || ((p[i + 1] >> 3) & 7) != 2)
    return false;
  unsigned mod = p[i + 1] >> 6, rm = p[i + 1] & 7;
  i += 2;
  if (mod != 3 && rm == 4) { /* SIB */
    if (i >= len)
      return false;
    if (mod == 0 && (p[i] & 7) == 5)
      i += 4; /* no base: disp32 */
    i++;
  }
  if (mod == 0 && rm == 5)
    i += 4; /* rip-relative disp32 */
  else if (mod == 1)
    i += 1;
  else if (mod == 2)
    i += 4;
  return i == len;
}

/* Any indirect call instruction (up to 15 bytes) ending at end. */
static void indirect_call(struct ctx *c, struct rec *r, const uint8_t *end,
                          uint64_t before) {
  for (uint64_t len = 2; len <= 15 && len <= before; len++)
    if (is_indirect_call(end - len, (size_t)len)) {
      r->callee = pool_add(c, "(indirect)");
      r->call = "indirect";
      return;
    }
}

/* Name of what a call to target reaches in a linked file. */
static void name_target(struct ctx *c, struct rec *r, uint64_t target) {
  const struct fsym *f = func_at(c, 0, target);
  if (f) {
    r->callee = pool_add(c, f->name);
    r->call = "direct";
    return;
  }
  /* A PLT stub: [endbr64] [bnd] jmp *slot(%rip).  Its GOT slot carries a
   * JUMP_SLOT or GLOB_DAT relocation naming the function. */
  uint64_t avail, start;
  const uint8_t *b = vaddr_bytes(c, target, &avail, &start);
  if (b) {
    uint64_t i = 0;
    if (avail >= 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
      i = 4;
    if (i < avail && b[i] == 0xf2)
      i++;
    if (avail >= i + 6 && b[i] == 0xff && b[i + 1] == 0x25) {
      uint64_t slot = target + i + 6 + (uint64_t)(int64_t)(int32_t)rd32(b + i + 2);
      const struct rel *rl = reloc_at(dyn_relocs(c), slot);
      GElf_Sym s;
      if (rl && rl->sym && get_sym(c, rl->symtab, rl->sym, &s)) {
        r->callee = pool_printf(c, "%s@plt", sym_name(c, rl->symtab, &s));
      } else if (rl && rl->type == R_X86_64_IRELATIVE) {
        r->callee = pool_printf(c, "*ifunc 0x%" PRIx64 "@plt", (uint64_t)rl->addend);
      } else {
        r->callee = pool_printf(c, "plt stub at 0x%" PRIx64, target);
      }
      r->call = "plt";
      return;
    }
  }
  f = find_func(c, 0, target);
  if (f && f->size)
    r->callee = pool_printf(c, "%s+0x%" PRIx64, f->name, target - f->value);
  else
    r->callee = pool_printf(c, "0x%" PRIx64, target);
  r->call = "direct";
}

static void resolve_callee_linked(struct ctx *c, struct rec *r) {
  uint64_t avail, start;
  if (r->addr == 0)
    return;
  const uint8_t *b = vaddr_bytes(c, r->addr - 1, &avail, &start);
  if (!b)
    return;
  const uint8_t *end = b + 1;
  uint64_t before = r->addr - start; /* readable bytes before addr */
  if (before >= 5 && end[-5] == 0xe8) {
    uint64_t target = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    if (vaddr_is_code(c, target)) {
      name_target(c, r, target);
      return;
    }
  }
  /* call *slot(%rip): through the GOT (-fno-plt). */
  if (before >= 6 && end[-6] == 0xff && end[-5] == 0x15) {
    uint64_t slot = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    const struct rel *rl = reloc_at(dyn_relocs(c), slot);
    GElf_Sym s;
    if (rl && rl->sym && get_sym(c, rl->symtab, rl->sym, &s)) {
      r->callee = pool_printf(c, "%s@got", sym_name(c, rl->symtab, &s));
      r->call = "got";
      return;
    }
  }
  indirect_call(c, r, end, before);
}

static void resolve_callee_rel(struct ctx *c, struct rec *r) {
  if (r->sec >= c->nsh || c->sh[r->sec].sh_type == SHT_NOBITS)
    return;
  const GElf_Shdr *s = &c->sh[r->sec];
  if (r->addr > s->sh_size || r->addr == 0)
    return;
  const uint8_t *text = sec_data(c, r->sec);
  const uint8_t *end = text + r->addr;
  uint64_t before = r->addr;
  const struct rel *rl = before >= 4 ? reloc_at(relocs_for(c, r->sec), r->addr - 4) : NULL;
  if (rl) {
    GElf_Sym sym;
    if (!get_sym(c, rl->symtab, rl->sym, &sym))
      return;
    bool via_got = rl->type == R_X86_64_GOTPCREL ||
                   rl->type == R_X86_64_GOTPCRELX ||
                   rl->type == R_X86_64_REX_GOTPCRELX;
    if (via_got) {
      r->callee = pool_printf(c, "%s@got", sym_name(c, rl->symtab, &sym));
      r->call = "got";
      return;
    }
    if (before >= 5 && end[-5] == 0xe8) {
      r->call = "direct";
      if (GELF_ST_TYPE(sym.st_info) == STT_SECTION) {
        /* call .text+X: find the function there. */
        uint64_t t = sym.st_value + (uint64_t)rl->addend + 4;
        const struct fsym *f = func_at(c, sym.st_shndx, t);
        r->callee = f ? pool_add(c, f->name)
                      : pool_printf(c, "%s+0x%" PRIx64,
                                    sym_name(c, rl->symtab, &sym), t);
      } else {
        r->callee = pool_add(c, sym_name(c, rl->symtab, &sym));
      }
      return;
    }
  }
  if (before >= 5 && end[-5] == 0xe8) {
    /* Resolved by the assembler: a call within the section. */
    uint64_t t = r->addr + (uint64_t)(int64_t)(int32_t)rd32(end - 4);
    const struct fsym *f = func_at(c, r->sec, t);
    r->callee = f ? pool_add(c, f->name)
                  : pool_printf(c, "%s+0x%" PRIx64, sec_name(c, r->sec), t);
    r->call = "direct";
    return;
  }
  indirect_call(c, r, end, before);
}

void resolve_sites(struct ctx *c) {
  for (size_t i = 0; i < c->nrecs; i++) {
    struct rec *r = &c->recs[i];
    /* The call instruction ends at the return address, which is past
     * the function's end after a call to a noreturn function. */
    const struct fsym *f = r->addr ? find_func(c, r->sec, r->addr - 1) : NULL;
    if (f) {
      r->fn = pool_add(c, f->name);
      r->fnoff = r->addr - f->value;
    }
    if (opt.function)
      r->shown = f && !strcmp(f->name, opt.function);
    /* Return addresses outside the code were reported with the note. */
    bool code = c->rel ? r->sec < c->nsh &&
                             (c->sh[r->sec].sh_flags & SHF_EXECINSTR) &&
                             r->addr <= c->sh[r->sec].sh_size
                       : r->addr > 0 && vaddr_is_code(c, r->addr - 1);
    if (!code)
      continue;
    if (opt.summary_only || !r->shown)
      continue;
    if (c->rel)
      resolve_callee_rel(c, r);
    else
      resolve_callee_linked(c, r);
  }
}
