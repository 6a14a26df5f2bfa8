/* Red-black tree with parent pointers (CLRS style, NULL leaves). */
#include "ds.h"

#include <stdlib.h>

void rb_init(RbTree *t) {
  t->root = NULL;
  t->size = 0;
  t->rotations = 0;
}

static void free_subtree(RbNode *n) {
  while (n) { /* recurse left, loop right: depth stays O(height) */
    free_subtree(n->left);
    RbNode *r = n->right;
    free(n);
    n = r;
  }
}

void rb_free(RbTree *t) {
  free_subtree(t->root);
  rb_init(t);
}

static int is_red(const RbNode *n) { return n && n->red; }

static void replace_child(RbTree *t, RbNode *parent, RbNode *old, RbNode *new) {
  if (!parent)
    t->root = new;
  else if (parent->left == old)
    parent->left = new;
  else
    parent->right = new;
  if (new)
    new->parent = parent;
}

static void rotate_left(RbTree *t, RbNode *x) {
  RbNode *y = x->right;
  x->right = y->left;
  if (y->left)
    y->left->parent = x;
  replace_child(t, x->parent, x, y);
  y->left = x;
  x->parent = y;
  t->rotations++;
}

static void rotate_right(RbTree *t, RbNode *x) {
  RbNode *y = x->left;
  x->left = y->right;
  if (y->right)
    y->right->parent = x;
  replace_child(t, x->parent, x, y);
  y->right = x;
  x->parent = y;
  t->rotations++;
}

RbNode *rb_find(const RbTree *t, int key) {
  RbNode *n = t->root;
  while (n && n->key != key)
    n = key < n->key ? n->left : n->right;
  return n;
}

RbNode *rb_floor(const RbTree *t, int key) {
  RbNode *n = t->root, *best = NULL;
  while (n) {
    if (n->key == key)
      return n;
    if (n->key < key) {
      best = n;
      n = n->right;
    } else {
      n = n->left;
    }
  }
  return best;
}

static void insert_fixup(RbTree *t, RbNode *z) {
  while (is_red(z->parent)) {
    RbNode *p = z->parent, *g = p->parent;
    int left = p == g->left;
    RbNode *uncle = left ? g->right : g->left;
    if (is_red(uncle)) {
      p->red = 0;
      uncle->red = 0;
      g->red = 1;
      z = g;
      continue;
    }
    if (left && z == p->right) {
      z = p;
      rotate_left(t, z);
    } else if (!left && z == p->left) {
      z = p;
      rotate_right(t, z);
    }
    z->parent->red = 0;
    z->parent->parent->red = 1;
    if (left)
      rotate_right(t, z->parent->parent);
    else
      rotate_left(t, z->parent->parent);
  }
  t->root->red = 0;
}

int rb_insert(RbTree *t, int key, Value v) {
  RbNode *parent = NULL, **link = &t->root;
  while (*link) {
    parent = *link;
    if (key == parent->key) {
      parent->val = v;
      parent->visits++;
      return 0;
    }
    link = key < parent->key ? &parent->left : &parent->right;
  }
  RbNode *z = calloc(1, sizeof *z);
  if (!z)
    abort();
  z->key = key;
  z->val = v;
  z->red = 1;
  z->parent = parent;
  *link = z;
  t->size++;
  insert_fixup(t, z);
  return 1;
}

static RbNode *minimum(RbNode *n) {
  while (n->left)
    n = n->left;
  return n;
}

/* x may be NULL (a black leaf), so its parent is passed separately. */
static void delete_fixup(RbTree *t, RbNode *x, RbNode *parent) {
  while (x != t->root && !is_red(x)) {
    int left = x == parent->left;
    RbNode *w = left ? parent->right : parent->left;
    if (is_red(w)) {
      w->red = 0;
      parent->red = 1;
      if (left)
        rotate_left(t, parent);
      else
        rotate_right(t, parent);
      w = left ? parent->right : parent->left;
    }
    if (!is_red(w->left) && !is_red(w->right)) {
      w->red = 1;
      x = parent;
      parent = x->parent;
      continue;
    }
    if (left && !is_red(w->right)) {
      w->left->red = 0;
      w->red = 1;
      rotate_right(t, w);
      w = parent->right;
    } else if (!left && !is_red(w->left)) {
      w->right->red = 0;
      w->red = 1;
      rotate_left(t, w);
      w = parent->left;
    }
    w->red = parent->red;
    parent->red = 0;
    if (left) {
      w->right->red = 0;
      rotate_left(t, parent);
    } else {
      w->left->red = 0;
      rotate_right(t, parent);
    }
    x = t->root;
    break;
  }
  if (x)
    x->red = 0;
}

Value rb_delete(RbTree *t, int key) {
  RbNode *z = rb_find(t, key);
  if (!z)
    ds_raise(404, "rb_delete: key not found");
  Value out = z->val;
  RbNode *x, *xparent;
  int removed_red = z->red;
  if (!z->left) {
    x = z->right;
    xparent = z->parent;
    replace_child(t, z->parent, z, z->right);
  } else if (!z->right) {
    x = z->left;
    xparent = z->parent;
    replace_child(t, z->parent, z, z->left);
  } else {
    RbNode *y = minimum(z->right); /* successor takes z's place */
    removed_red = y->red;
    x = y->right;
    if (y->parent == z) {
      xparent = y;
    } else {
      xparent = y->parent;
      replace_child(t, y->parent, y, y->right);
      y->right = z->right;
      y->right->parent = y;
    }
    replace_child(t, z->parent, z, y);
    y->left = z->left;
    y->left->parent = y;
    y->red = z->red;
  }
  free(z);
  t->size--;
  if (!removed_red)
    delete_fixup(t, x, xparent);
  return out;
}

static int validate(const RbNode *n, const RbNode *parent, long lo, long hi) {
  if (!n)
    return 1;
  if (n->parent != parent)
    ds_raise(1, "rb: bad parent pointer");
  if (n->key <= lo || n->key >= hi)
    ds_raise(2, "rb: order violated");
  if (n->red && (is_red(n->left) || is_red(n->right)))
    ds_raise(3, "rb: red node with red child");
  int l = validate(n->left, n, lo, n->key);
  int r = validate(n->right, n, n->key, hi);
  if (l != r)
    ds_raise(4, "rb: unequal black heights");
  return l + !n->red;
}

int rb_validate(const RbTree *t) {
  if (is_red(t->root))
    ds_raise(5, "rb: red root");
  return validate(t->root, NULL, (long)INT32_MIN - 1, (long)INT32_MAX + 1);
}

static void inorder(RbNode *n, RbVisit fn, void *ctx) {
  if (!n)
    return;
  inorder(n->left, fn, ctx);
  fn(n, ctx);
  inorder(n->right, fn, ctx);
}

void rb_inorder(RbTree *t, RbVisit fn, void *ctx) { inorder(t->root, fn, ctx); }

static int height(const RbNode *n) {
  if (!n)
    return 0;
  int l = height(n->left), r = height(n->right);
  return 1 + (l > r ? l : r);
}

int rb_height(const RbTree *t) { return height(t->root); }
