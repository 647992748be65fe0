#include "demo.h"
#include <stdio.h>
int cxp_demo_main(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "demo: not yet\n"); return 1; }
