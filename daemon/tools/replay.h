#ifndef CXP_REPLAY_H
#define CXP_REPLAY_H
/* `cxpulse replay`: the core over a file of events, without Kafka. */
int cxp_replay_main(int argc, char **argv);
#endif
