/* Tokenizer: integers, identifiers, keywords, operators, '#' comments. */
#include "interp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *word;
  TokKind kind;
} keywords[] = {
    /* sorted, for bsearch */
    {"else", T_ELSE},   {"fn", T_FN},         {"if", T_IF},
    {"let", T_LET},     {"print", T_PRINT},   {"return", T_RETURN},
    {"while", T_WHILE},
};

static const char *const tok_names[T_COUNT] = {
    [T_EOF] = "end of input", [T_NUM] = "number",  [T_IDENT] = "identifier",
    [T_LET] = "'let'",        [T_FN] = "'fn'",     [T_RETURN] = "'return'",
    [T_IF] = "'if'",          [T_ELSE] = "'else'", [T_WHILE] = "'while'",
    [T_PRINT] = "'print'",    [T_LPAREN] = "'('",  [T_RPAREN] = "')'",
    [T_LBRACE] = "'{'",       [T_RBRACE] = "'}'",  [T_COMMA] = "','",
    [T_SEMI] = "';'",         [T_PLUS] = "'+'",    [T_MINUS] = "'-'",
    [T_STAR] = "'*'",         [T_SLASH] = "'/'",   [T_PERCENT] = "'%'",
    [T_ASSIGN] = "'='",       [T_EQ] = "'=='",     [T_NE] = "'!='",
    [T_LT] = "'<'",           [T_LE] = "'<='",     [T_GT] = "'>'",
    [T_GE] = "'>='",          [T_AND] = "'&&'",    [T_OR] = "'||'",
    [T_NOT] = "'!'",          [T_AMP] = "'&'",     [T_PIPE] = "'|'",
    [T_CARET] = "'^'",        [T_SHL] = "'<<'",    [T_SHR] = "'>>'",
};

const char *tok_name(TokKind k) {
  return (unsigned)k < T_COUNT && tok_names[k] ? tok_names[k] : "?";
}

struct key {
  const char *s;
  int len;
};

static int keyword_cmp(const void *k, const void *elem) {
  const struct key *key = k;
  const char *word = *(const char *const *)elem; /* first member */
  int c = strncmp(key->s, word, (size_t)key->len);
  if (c != 0)
    return c;
  return word[key->len] == '\0' ? 0 : -1; /* key is a proper prefix */
}

static TokKind ident_kind(const char *s, int len) {
  struct key k = {s, len};
  const void *hit = bsearch(&k, keywords, sizeof keywords / sizeof keywords[0],
                            sizeof keywords[0], keyword_cmp);
  if (!hit)
    return T_IDENT;
  return ((const __typeof__(keywords[0]) *)hit)->kind;
}

void lex_init(Lexer *lx, const char *src, ErrorCtx *err) {
  lx->cur = src;
  lx->line = 1;
  lx->err = err;
  lex_next(lx);
}

static void skip_space(Lexer *lx) {
  for (;;) {
    char c = *lx->cur;
    if (c == '\n') {
      lx->line++;
      lx->cur++;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      lx->cur++;
    } else if (c == '#') {
      while (*lx->cur && *lx->cur != '\n')
        lx->cur++;
    } else {
      return;
    }
  }
}

/* Two-character operators first, then one-character ones. */
static TokKind punct(Lexer *lx) {
  static const struct {
    char a, b;
    TokKind kind;
  } two[] = {{'=', '=', T_EQ},  {'!', '=', T_NE}, {'<', '=', T_LE},
             {'>', '=', T_GE},  {'&', '&', T_AND}, {'|', '|', T_OR},
             {'<', '<', T_SHL}, {'>', '>', T_SHR}};
  static const char one_chars[] = "(){},;+-*/%=<>!&|^";
  static const TokKind one_kinds[] = {
      T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_COMMA,   T_SEMI,
      T_PLUS,   T_MINUS,  T_STAR,   T_SLASH,  T_PERCENT, T_ASSIGN,
      T_LT,     T_GT,     T_NOT,    T_AMP,    T_PIPE,    T_CARET};
  const char *p = lx->cur;
  for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
    if (p[0] == two[i].a && p[1] == two[i].b) {
      lx->cur += 2;
      return two[i].kind;
    }
  const char *hit = strchr(one_chars, p[0]);
  if (p[0] == '\0' || !hit)
    fail(lx->err, "line %d: unexpected character '%c'", lx->line, p[0]);
  lx->cur++;
  return one_kinds[hit - one_chars];
}

void lex_next(Lexer *lx) {
  skip_space(lx);
  Token *t = &lx->tok;
  t->start = lx->cur;
  t->line = lx->line;
  t->num = 0;
  char c = *lx->cur;
  if (c == '\0') {
    t->kind = T_EOF;
  } else if (isdigit((unsigned char)c)) {
    uint64_t v = 0;
    while (isdigit((unsigned char)*lx->cur)) {
      v = v * 10 + (uint64_t)(*lx->cur - '0');
      if (v > (uint64_t)INT64_MAX)
        fail(lx->err, "line %d: number too large", lx->line);
      lx->cur++;
    }
    t->kind = T_NUM;
    t->num = (int64_t)v;
  } else if (isalpha((unsigned char)c) || c == '_') {
    while (isalnum((unsigned char)*lx->cur) || *lx->cur == '_')
      lx->cur++;
    t->kind = ident_kind(t->start, (int)(lx->cur - t->start));
  } else {
    t->kind = punct(lx);
  }
  t->len = (int)(lx->cur - t->start);
}
