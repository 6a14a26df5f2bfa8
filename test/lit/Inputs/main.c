#include <stdio.h>
long run(int n, char **names);
int main(int argc, char **argv) { printf("%ld\n", run(argc - 1, argv + 1)); return 0; }
