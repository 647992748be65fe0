/* `cxpulse eval-churn`: how well the churn score predicts cancellations in a
 * labelled history. */
#ifndef CXP_EVALCHURN_H
#define CXP_EVALCHURN_H

int cxp_evalchurn_main(int argc, char **argv);

#endif
