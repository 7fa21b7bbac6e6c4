/*
 * The HTTP side of polygon-replay: Polygon's aggregates endpoint over a
 * store, with its authentication, rate limiting and error bodies, plus
 * seeded fault injection and a request log for tests.
 */
#ifndef POLYGON_REPLAY_SERVER_H
#define POLYGON_REPLAY_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "store.h"

enum fault {
    FAULT_NONE,
    FAULT_500,
    FAULT_502,
    FAULT_503,
    FAULT_504,
    FAULT_429,       /* a rate-limit answer although the limit was not reached */
    FAULT_DELAY,     /* answer normally after delay_ms */
    FAULT_TRUNCATE,  /* promise the full body, send half, close */
    FAULT_MALFORMED, /* 200 with a body that is not valid JSON */
    FAULT_DROP,      /* close the connection without an answer */
    FAULT_COUNT
};

typedef struct replay_config {
    const char *api_key;     /* required key; NULL accepts any non-empty key */
    const char *public_base; /* scheme://host:port used in next_url */
    int rate_limit_per_min;  /* 0: unlimited */
    int64_t rate_window_ms;  /* the rate limit's window (60000 as Polygon) */
    int retry_after_s;       /* -1: no Retry-After header; 0: computed; N: fixed */
    double fault_rate;       /* probability that a request gets a fault */
    int fault_every;         /* >0: every N-th request gets a fault (round robin) */
    enum fault faults[FAULT_COUNT];
    int nfaults;
    int fault_skip; /* the first N requests never get a fault */
    uint64_t seed;
    int delay_ms;
} replay_config;

typedef struct replay_server {
    replay_config cfg;
    const store *store;
    pthread_mutex_t lock;
    uint64_t rng;
    uint64_t requests;
    int64_t *window; /* times of the requests inside the rate window (ring) */
    size_t win_head, win_count;
    FILE *log;
} replay_server;

const char *fault_name(enum fault f);
bool fault_parse(const char *name, enum fault *out);

int replay_server_init(replay_server *s, const replay_config *cfg, const store *st, FILE *log);
void replay_server_destroy(replay_server *s);

/* The libmicrohttpd access handler; cls is the replay_server. */
enum MHD_Result replay_handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls);

#endif
