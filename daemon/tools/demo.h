#ifndef CXP_DEMO_H
#define CXP_DEMO_H
/* `cxpulse demo`: embedded cluster, traffic generator and the daemon. */
int cxp_demo_main(int argc, char **argv);
#endif
