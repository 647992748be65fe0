/* SHA-256 (FIPS 180-4): the digest a truncated dead letter carries of the
 * bytes it could not hold, so that whoever has the original can tell it is
 * the one. Not on the per-event path. */
#ifndef CXP_SHA256_H
#define CXP_SHA256_H

#include <stddef.h>
#include <stdint.h>

void cxp_sha256(const void *data, size_t len, uint8_t out[32]);
/* The digest as 64 lowercase hex digits and a NUL. */
void cxp_sha256_hex(const void *data, size_t len, char out[65]);

#endif
