/*
 * Helpers for integration tests: run the project's programs as child
 * processes (polygon-replay, the ingestor), wait for them, and fetch URLs
 * on loopback.
 */
#ifndef TESTS_INTEGRATION_HARNESS_H
#define TESTS_INTEGRATION_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct replay_proc {
    pid_t pid;
    unsigned port;
    char dir[256];      /* a temporary directory owned by the test */
    char log_path[300]; /* the request log */
    char base[64];      /* http://127.0.0.1:PORT */
} replay_proc;

/*
 * Start polygon-replay on a free loopback port serving data_dir, with extra
 * arguments (NULL-terminated array, may be NULL). Returns 0 once it listens.
 */
int replay_start(replay_proc *rp, const char *exe, const char *data_dir, const char *const *extra);

/* SIGTERM, wait, remove the temporary directory. */
void replay_stop(replay_proc *rp);

/* Read a whole file into a NUL-terminated malloc'ed buffer (NULL on error). */
char *read_file(const char *path, size_t *len);

/* Remove a directory and everything in it (rm -rf); a failure is only reported. */
void remove_dir(const char *dir);

/* Count the lines of text that contain needle. */
size_t count_lines_with(const char *text, const char *needle);

/*
 * Run argv with extra environment entries (NAME=VALUE, NULL-terminated;
 * may be NULL) and capture stdout+stderr into *out (malloc'ed). Returns the
 * exit status, 128+N for a signal, -1 on failure to start.
 */
int run_capture(const char *const *argv, const char *const *env, char **out);

/*
 * Start argv in the background with extra environment entries (as
 * run_capture), its stdout+stderr written to out_path. Returns the pid, or
 * -1 on failure.
 */
pid_t spawn_logged(const char *const *argv, const char *const *env, const char *out_path);

/*
 * Wait up to timeout_ms for the child pid to exit. Returns its status as
 * run_capture does (128+N for a signal), or -1 when it is still running at
 * the deadline (it is left running).
 */
int wait_exit(pid_t pid, long timeout_ms);

/* Fetch url (with "Authorization: Bearer key" if key) via libcurl. */
typedef struct fetch_result {
    long status;
    int curl_code;
    char *body;
    size_t len;
    char retry_after[32];
} fetch_result;
int fetch(fetch_result *r, const char *url, const char *key);
void fetch_free(fetch_result *r);

#endif
