/* A small bytecode interpreter for an integer expression language.
 *
 * Pipeline: lexer.c (tokens) -> compiler.c (recursive descent straight to
 * bytecode) -> vm.c (stack machine with computed-goto dispatch).  Every
 * error, at compile time or run time, unwinds with longjmp to the ErrorCtx
 * that the caller set up with setjmp; main.c prints the message and goes on
 * with the next program.
 */
#ifndef INTERP_H
#define INTERP_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>

/* ---- errors ------------------------------------------------------------ */

typedef struct ErrorCtx {
  jmp_buf jb;
  char msg[200];
  /* Called by fail() before the longjmp: frees what the unwound frames own. */
  void (*cleanup)(void *arg);
  void *cleanup_arg;
} ErrorCtx;

noreturn void fail(ErrorCtx *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- lexer ------------------------------------------------------------- */

typedef enum {
  T_EOF, T_NUM, T_IDENT,
  T_LET, T_FN, T_RETURN, T_IF, T_ELSE, T_WHILE, T_PRINT,
  T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_COMMA, T_SEMI,
  T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT, T_ASSIGN,
  T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_AND, T_OR, T_NOT,
  T_AMP, T_PIPE, T_CARET, T_SHL, T_SHR,
  T_COUNT
} TokKind;

typedef struct {
  TokKind kind;
  int line;
  int64_t num;
  const char *start;
  int len;
} Token;

typedef struct {
  const char *cur;
  int line;
  Token tok; /* the current (lookahead) token */
  ErrorCtx *err;
} Lexer;

void lex_init(Lexer *lx, const char *src, ErrorCtx *err);
void lex_next(Lexer *lx);
const char *tok_name(TokKind k);

/* ---- bytecode ---------------------------------------------------------- */

/* X-macro so that the enum, the names and the dispatch table agree. */
#define OPCODES(X)                                                             \
  X(CONST, 1) X(LOAD, 1) X(STORE, 1) X(POP, 0) X(DUP, 0)                       \
  X(ADD, 0) X(SUB, 0) X(MUL, 0) X(DIV, 0) X(MOD, 0) X(NEG, 0) X(NOT, 0)        \
  X(EQ, 0) X(NE, 0) X(LT, 0) X(LE, 0) X(GT, 0) X(GE, 0)                        \
  X(BAND, 0) X(BOR, 0) X(BXOR, 0) X(SHL, 0) X(SHR, 0)                          \
  X(JMP, 1) X(JZ, 1) X(CALL, 2) X(NATIVE, 2) X(RET, 0) X(PRINT, 0) X(HALT, 0)

typedef enum {
#define X(name, nargs) OP_##name,
  OPCODES(X)
#undef X
  OP_COUNT
} Opcode;

#define MAX_FUNCS 32
#define MAX_CONSTS 256
#define MAX_NAME 24

typedef struct {
  char name[MAX_NAME];
  int arity;
  int entry;  /* code offset of the first instruction */
  int nslots; /* parameters + locals */
} FuncInfo;

typedef struct {
  int32_t *code;
  int ncode, capcode;
  int64_t consts[MAX_CONSTS];
  int nconsts;
  FuncInfo funcs[MAX_FUNCS];
  int nfuncs;
  int main_fn;
} Program;

Program *program_new(void);
void program_free(Program *p);
int program_emit(Program *p, int32_t word);
uint32_t program_checksum(const Program *p);

void compile(Program *prog, const char *src, ErrorCtx *err);

/* ---- natives ----------------------------------------------------------- */

typedef int64_t (*NativeFn)(int argc, const int64_t *args, ErrorCtx *err);
typedef struct {
  const char *name;
  int min_args, max_args;
  NativeFn fn;
} Native;

/* Index of the native called name[0..len), or -1. */
int native_lookup(const char *name, int len);
const Native *native_get(int index);

/* ---- vm ---------------------------------------------------------------- */

typedef struct {
  long steps;       /* instructions executed */
  int max_depth;    /* deepest call nesting seen */
  int64_t printed;  /* hash of every printed value */
  int nprinted;
} VMStats;

/* Runs prog's main function; at most budget instructions. */
VMStats vm_run(const Program *prog, ErrorCtx *err, long budget, FILE *out);
void disassemble(const Program *prog, FILE *out);

#endif
