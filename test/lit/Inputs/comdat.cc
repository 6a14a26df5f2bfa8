// An inline function emitted (with maps) in both units; the linker keeps one.
void *opaque(void *);
inline long twice(long x) { opaque(&x); return 2 * x; }
#if UNIT == 1
long one();
int main() { return twice(one()) == 42 ? (__builtin_printf("42\n"), 0) : 1; }
#else
long one() { return twice(21) / 2; }
void *opaque(void *p) { return p; }
#endif
