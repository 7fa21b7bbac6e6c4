/* Private to libretry: the random source for jitter (random.c); never
 * installed. */
#ifndef RETRY_RANDOM_H
#define RETRY_RANDOM_H

#include <stdint.h>

#include <retry/retry.h>

/* Seed a default PRNG state for an owner at addr (env->seed when set). */
void retry__seed(const retry_env *env, uint64_t state[2], const void *addr);
/* A uniform double in [0, 1): the environment's source or the state's PRNG. */
double retry__random(const retry_env *env, uint64_t state[2]);

#endif /* RETRY_RANDOM_H */
