/* Single-pass compiler: recursive descent that emits bytecode directly.
 *
 * Grammar (statements):
 *   program  := { fn | stmt }
 *   fn       := 'fn' IDENT '(' [IDENT {',' IDENT}] ')' block
 *   stmt     := 'let' IDENT '=' expr ';' | IDENT '=' expr ';'
 *             | 'print' expr ';' | 'return' expr ';' | block
 *             | 'if' '(' expr ')' stmt ['else' stmt]
 *             | 'while' '(' expr ')' stmt | expr ';'
 * Expressions use C precedence for || && | ^ & == != < <= > >= << >> + - * / %.
 */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LOCALS 64

typedef struct {
  char name[MAX_NAME];
  int depth;
  int slot;
} Local;

typedef struct {
  Lexer lx;
  Program *prog;
  ErrorCtx *err;
  Local locals[MAX_LOCALS];
  int nlocals;
  int depth;
  int fn; /* index of the function being compiled */
} Compiler;

/* ---- program buffer ---------------------------------------------------- */

Program *program_new(void) {
  Program *p = calloc(1, sizeof *p);
  if (!p)
    abort();
  return p;
}

void program_free(Program *p) {
  if (p) {
    free(p->code);
    free(p);
  }
}

int program_emit(Program *p, int32_t word) {
  if (p->ncode == p->capcode) {
    int cap = p->capcode ? p->capcode * 2 : 64;
    int32_t *code = realloc(p->code, (size_t)cap * sizeof *code);
    if (!code)
      abort();
    p->code = code;
    p->capcode = cap;
  }
  p->code[p->ncode] = word;
  return p->ncode++;
}

/* FNV-1a over code, constants and function table: detects any difference
 * in what the compiler produced. */
uint32_t program_checksum(const Program *p) {
  uint32_t h = 2166136261u;
  const unsigned char *b = (const unsigned char *)p->code;
  for (size_t i = 0; i < (size_t)p->ncode * sizeof *p->code; i++)
    h = (h ^ b[i]) * 16777619u;
  for (int i = 0; i < p->nconsts; i++)
    h = (h ^ (uint32_t)(p->consts[i] ^ (p->consts[i] >> 32))) * 16777619u;
  for (int i = 0; i < p->nfuncs; i++)
    h = (h ^ (uint32_t)(p->funcs[i].entry * 31 + p->funcs[i].nslots)) *
        16777619u;
  return h;
}

/* ---- helpers ----------------------------------------------------------- */

static void advance(Compiler *c) { lex_next(&c->lx); }

static int check(Compiler *c, TokKind k) { return c->lx.tok.kind == k; }

static int accept(Compiler *c, TokKind k) {
  if (!check(c, k))
    return 0;
  advance(c);
  return 1;
}

static void expect(Compiler *c, TokKind k) {
  if (!accept(c, k))
    fail(c->err, "line %d: expected %s, found %s", c->lx.tok.line,
         tok_name(k), tok_name(c->lx.tok.kind));
}

static Token expect_ident(Compiler *c) {
  Token t = c->lx.tok;
  expect(c, T_IDENT);
  if (t.len >= MAX_NAME)
    fail(c->err, "line %d: name too long", t.line);
  return t;
}

static void emit(Compiler *c, Opcode op) { program_emit(c->prog, op); }

static void emit1(Compiler *c, Opcode op, int32_t a) {
  program_emit(c->prog, op);
  program_emit(c->prog, a);
}

/* Emits a jump with a placeholder target; returns the operand's offset. */
static int emit_jump(Compiler *c, Opcode op) {
  program_emit(c->prog, op);
  return program_emit(c->prog, -1);
}

static void patch_here(Compiler *c, int at) { c->prog->code[at] = c->prog->ncode; }

static int const_index(Compiler *c, int64_t v) {
  Program *p = c->prog;
  for (int i = 0; i < p->nconsts; i++)
    if (p->consts[i] == v)
      return i;
  if (p->nconsts == MAX_CONSTS)
    fail(c->err, "line %d: too many constants", c->lx.tok.line);
  p->consts[p->nconsts] = v;
  return p->nconsts++;
}

static int name_eq(const char *name, Token t) {
  return (int)strlen(name) == t.len && memcmp(name, t.start, (size_t)t.len) == 0;
}

static int find_local(Compiler *c, Token t) {
  for (int i = c->nlocals - 1; i >= 0; i--)
    if (name_eq(c->locals[i].name, t))
      return c->locals[i].slot;
  return -1;
}

static int find_func(Compiler *c, Token t) {
  for (int i = 0; i < c->prog->nfuncs; i++)
    if (name_eq(c->prog->funcs[i].name, t))
      return i;
  return -1;
}

static int add_local(Compiler *c, Token t) {
  for (int i = c->nlocals - 1; i >= 0 && c->locals[i].depth == c->depth; i--)
    if (name_eq(c->locals[i].name, t))
      fail(c->err, "line %d: '%.*s' already defined", t.line, t.len, t.start);
  if (c->nlocals == MAX_LOCALS)
    fail(c->err, "line %d: too many locals", t.line);
  FuncInfo *f = &c->prog->funcs[c->fn];
  Local *l = &c->locals[c->nlocals++];
  memcpy(l->name, t.start, (size_t)t.len);
  l->name[t.len] = '\0';
  l->depth = c->depth;
  l->slot = f->nslots++; /* slots are never reused: simple and safe */
  return l->slot;
}

static int new_func(Compiler *c, Token name, int entry) {
  if (c->prog->nfuncs == MAX_FUNCS)
    fail(c->err, "line %d: too many functions", name.line);
  FuncInfo *f = &c->prog->funcs[c->prog->nfuncs];
  memset(f, 0, sizeof *f);
  memcpy(f->name, name.start, (size_t)name.len);
  f->entry = entry;
  return c->prog->nfuncs++;
}

/* ---- expressions ------------------------------------------------------- */

static void expr(Compiler *c);

static void call_args(Compiler *c, int *argc) {
  expect(c, T_LPAREN);
  *argc = 0;
  if (!check(c, T_RPAREN)) {
    do {
      expr(c);
      ++*argc;
    } while (accept(c, T_COMMA));
  }
  expect(c, T_RPAREN);
}

static void call(Compiler *c, Token name) {
  int argc;
  int fn = find_func(c, name);
  int nat = fn < 0 ? native_lookup(name.start, name.len) : -1;
  if (fn < 0 && nat < 0)
    fail(c->err, "line %d: unknown function '%.*s'", name.line, name.len,
         name.start);
  call_args(c, &argc);
  if (fn >= 0) {
    if (argc != c->prog->funcs[fn].arity)
      fail(c->err, "line %d: '%.*s' takes %d arguments, got %d", name.line,
           name.len, name.start, c->prog->funcs[fn].arity, argc);
    emit1(c, OP_CALL, fn);
  } else {
    const Native *n = native_get(nat);
    if (argc < n->min_args || argc > n->max_args)
      fail(c->err, "line %d: %s takes %d..%d arguments, got %d", name.line,
           n->name, n->min_args, n->max_args, argc);
    emit1(c, OP_NATIVE, nat);
  }
  program_emit(c->prog, argc);
}

static void primary(Compiler *c) {
  Token t = c->lx.tok;
  if (accept(c, T_NUM)) {
    emit1(c, OP_CONST, const_index(c, t.num));
  } else if (accept(c, T_IDENT)) {
    if (check(c, T_LPAREN)) {
      call(c, t);
      return;
    }
    int slot = find_local(c, t);
    if (slot < 0)
      fail(c->err, "line %d: undefined variable '%.*s'", t.line, t.len,
           t.start);
    emit1(c, OP_LOAD, slot);
  } else if (accept(c, T_LPAREN)) {
    expr(c);
    expect(c, T_RPAREN);
  } else {
    fail(c->err, "line %d: expected an expression, found %s", t.line,
         tok_name(t.kind));
  }
}

static void unary(Compiler *c) {
  if (accept(c, T_MINUS)) {
    unary(c);
    emit(c, OP_NEG);
  } else if (accept(c, T_NOT)) {
    unary(c);
    emit(c, OP_NOT);
  } else {
    primary(c);
  }
}

/* Binary levels, loosest first after && and ||; each maps tokens to ops. */
typedef struct {
  TokKind tok;
  Opcode op;
} BinOp;

static const BinOp level_bor[] = {{T_PIPE, OP_BOR}, {T_EOF, 0}};
static const BinOp level_bxor[] = {{T_CARET, OP_BXOR}, {T_EOF, 0}};
static const BinOp level_band[] = {{T_AMP, OP_BAND}, {T_EOF, 0}};
static const BinOp level_eq[] = {{T_EQ, OP_EQ}, {T_NE, OP_NE}, {T_EOF, 0}};
static const BinOp level_rel[] = {
    {T_LT, OP_LT}, {T_LE, OP_LE}, {T_GT, OP_GT}, {T_GE, OP_GE}, {T_EOF, 0}};
static const BinOp level_shift[] = {{T_SHL, OP_SHL}, {T_SHR, OP_SHR}, {T_EOF, 0}};
static const BinOp level_add[] = {{T_PLUS, OP_ADD}, {T_MINUS, OP_SUB}, {T_EOF, 0}};
static const BinOp level_mul[] = {
    {T_STAR, OP_MUL}, {T_SLASH, OP_DIV}, {T_PERCENT, OP_MOD}, {T_EOF, 0}};

static const BinOp *const levels[] = {level_bor,   level_bxor, level_band,
                                      level_eq,    level_rel,  level_shift,
                                      level_add,   level_mul};
#define NLEVELS ((int)(sizeof levels / sizeof levels[0]))

static void binary(Compiler *c, int level) {
  if (level == NLEVELS) {
    unary(c);
    return;
  }
  binary(c, level + 1);
  for (;;) {
    const BinOp *b = levels[level];
    while (b->tok != T_EOF && !check(c, b->tok))
      b++;
    if (b->tok == T_EOF)
      return;
    advance(c);
    binary(c, level + 1);
    emit(c, b->op);
  }
}

/* a && b: result is 0 or 1; b is skipped when a is false. */
static void and_expr(Compiler *c) {
  binary(c, 0);
  while (accept(c, T_AND)) {
    int to_false = emit_jump(c, OP_JZ);
    binary(c, 0);
    emit(c, OP_NOT);
    emit(c, OP_NOT);
    int to_end = emit_jump(c, OP_JMP);
    patch_here(c, to_false);
    emit1(c, OP_CONST, const_index(c, 0));
    patch_here(c, to_end);
  }
}

/* a || b: result is 0 or 1; b is skipped when a is true. */
static void expr(Compiler *c) {
  and_expr(c);
  while (accept(c, T_OR)) {
    int to_rhs = emit_jump(c, OP_JZ);
    emit1(c, OP_CONST, const_index(c, 1));
    int to_end = emit_jump(c, OP_JMP);
    patch_here(c, to_rhs);
    and_expr(c);
    emit(c, OP_NOT);
    emit(c, OP_NOT);
    patch_here(c, to_end);
  }
}

/* ---- statements -------------------------------------------------------- */

static void statement(Compiler *c);

static void block(Compiler *c) {
  expect(c, T_LBRACE);
  c->depth++;
  int mark = c->nlocals;
  while (!check(c, T_RBRACE) && !check(c, T_EOF))
    statement(c);
  expect(c, T_RBRACE);
  c->nlocals = mark;
  c->depth--;
}

static void if_stmt(Compiler *c) {
  expect(c, T_LPAREN);
  expr(c);
  expect(c, T_RPAREN);
  int to_else = emit_jump(c, OP_JZ);
  statement(c);
  if (accept(c, T_ELSE)) {
    int to_end = emit_jump(c, OP_JMP);
    patch_here(c, to_else);
    statement(c);
    patch_here(c, to_end);
  } else {
    patch_here(c, to_else);
  }
}

static void while_stmt(Compiler *c) {
  int top = c->prog->ncode;
  expect(c, T_LPAREN);
  expr(c);
  expect(c, T_RPAREN);
  int to_end = emit_jump(c, OP_JZ);
  statement(c);
  emit1(c, OP_JMP, top);
  patch_here(c, to_end);
}

static void statement(Compiler *c) {
  Token t = c->lx.tok;
  if (accept(c, T_LET)) {
    Token name = expect_ident(c);
    expect(c, T_ASSIGN);
    expr(c); /* before add_local: 'let x = x;' sees the outer x */
    emit1(c, OP_STORE, add_local(c, name));
    expect(c, T_SEMI);
  } else if (accept(c, T_PRINT)) {
    expr(c);
    emit(c, OP_PRINT);
    expect(c, T_SEMI);
  } else if (accept(c, T_RETURN)) {
    if (c->fn == c->prog->main_fn)
      fail(c->err, "line %d: return outside a function", t.line);
    expr(c);
    emit(c, OP_RET);
    expect(c, T_SEMI);
  } else if (accept(c, T_IF)) {
    if_stmt(c);
  } else if (accept(c, T_WHILE)) {
    while_stmt(c);
  } else if (check(c, T_LBRACE)) {
    block(c);
  } else if (check(c, T_IDENT)) {
    /* assignment or expression statement: needs one token of lookahead
     * past the identifier, so save the lexer and rewind if needed */
    Lexer save = c->lx;
    advance(c);
    if (accept(c, T_ASSIGN)) {
      int slot = find_local(c, t);
      if (slot < 0)
        fail(c->err, "line %d: assignment to undefined '%.*s'", t.line, t.len,
             t.start);
      expr(c);
      emit1(c, OP_STORE, slot);
    } else {
      c->lx = save;
      expr(c);
      emit(c, OP_POP);
    }
    expect(c, T_SEMI);
  } else {
    expr(c);
    emit(c, OP_POP);
    expect(c, T_SEMI);
  }
}

static void function(Compiler *c) {
  Token name = expect_ident(c);
  if (find_func(c, name) >= 0)
    fail(c->err, "line %d: function '%.*s' redefined", name.line, name.len,
         name.start);
  /* top-level code flows around the body */
  int skip = emit_jump(c, OP_JMP);
  int fn = new_func(c, name, c->prog->ncode);

  int saved_fn = c->fn, saved_nlocals = c->nlocals, saved_depth = c->depth;
  c->fn = fn;
  c->nlocals = 0; /* functions see only their own names */
  c->depth = 1;
  expect(c, T_LPAREN);
  if (!check(c, T_RPAREN)) {
    do {
      add_local(c, expect_ident(c));
      c->prog->funcs[fn].arity++;
    } while (accept(c, T_COMMA));
  }
  expect(c, T_RPAREN);
  block(c);
  /* falling off the end returns 0 */
  emit1(c, OP_CONST, const_index(c, 0));
  emit(c, OP_RET);

  /* restore the enclosing (main) scope; locals were saved in place */
  c->fn = saved_fn;
  c->nlocals = saved_nlocals;
  c->depth = saved_depth;
  patch_here(c, skip);
}

void compile(Program *prog, const char *src, ErrorCtx *err) {
  /* Large, so on the heap; freed by fail()'s cleanup hook on error. */
  Compiler *c = calloc(1, sizeof *c);
  if (!c)
    abort();
  err->cleanup = free;
  err->cleanup_arg = c;
  c->prog = prog;
  c->err = err;
  Token main_name = {.start = "main", .len = 4};
  prog->main_fn = c->fn = new_func(c, main_name, 0);
  lex_init(&c->lx, src, err);
  while (!check(c, T_EOF)) {
    if (accept(c, T_FN)) {
      /* function bodies cannot see main's locals, but main's locals that
       * were declared before must survive: stash them */
      Local stash[MAX_LOCALS];
      int n = c->nlocals;
      memcpy(stash, c->locals, sizeof stash);
      function(c);
      memcpy(c->locals, stash, sizeof stash);
      c->nlocals = n;
    } else {
      statement(c);
    }
  }
  emit(c, OP_HALT);
  err->cleanup = NULL;
  free(c);
}
