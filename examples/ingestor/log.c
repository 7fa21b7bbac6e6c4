#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "textsafe.h"

#define MAX_SECRETS 8
#define MASK        "**********"

static struct {
    pthread_mutex_t lock;
    log_level min;
    bool json;
    FILE *out;
    char *secrets[MAX_SECRETS];
    int nsecrets;
    text_masker *masker; /* of secrets; NULL: none */
} L = { PTHREAD_MUTEX_INITIALIZER, LOG_LEVEL_INFO, false, NULL, { NULL }, 0, NULL };

void log_setup(log_level min, bool json, FILE *out)
{
    L.min = min;
    L.json = json;
    L.out = out;
}

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&L.lock);
    if (L.nsecrets < MAX_SECRETS) {
        char *copy = strdup(secret);
        if (copy)
            L.secrets[L.nsecrets++] = copy;
        text_masker *m = text_masker_new((const char *const *)L.secrets, (size_t)L.nsecrets, MASK);
        if (m) {
            text_masker_free(L.masker);
            L.masker = m;
        }
    }
    pthread_mutex_unlock(&L.lock);
}

void log_clear_secrets(void)
{
    pthread_mutex_lock(&L.lock);
    for (int i = 0; i < L.nsecrets; i++) {
        text_wipe_free(L.secrets[i]);
        L.secrets[i] = NULL;
    }
    L.nsecrets = 0;
    text_masker_free(L.masker);
    L.masker = NULL;
    pthread_mutex_unlock(&L.lock);
}

bool log_enabled(log_level level)
{
    return level >= L.min;
}

/* Caller holds L.lock. */
static void scrub_locked(const char *text, char *out, size_t outlen)
{
    text_mask(L.masker, out, outlen, text);
}

void log_scrub(const char *text, char *out, size_t outlen)
{
    pthread_mutex_lock(&L.lock);
    scrub_locked(text, out, outlen);
    pthread_mutex_unlock(&L.lock);
}

void log_msg(log_level level, const char *fmt, ...)
{
    if (level < L.min)
        return;
    static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    char raw[2048], clean[2048], shown[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    pthread_mutex_lock(&L.lock);
    scrub_locked(raw, clean, sizeof clean);
    FILE *out = L.out ? L.out : stderr;
    if (L.json) {
        cJSON *o = cJSON_CreateObject();
        char *line = o && cJSON_AddStringToObject(o, "time", when) &&
                             cJSON_AddStringToObject(o, "level", names[level]) &&
                             cJSON_AddStringToObject(o, "msg", clean)
                         ? cJSON_PrintUnformatted(o)
                         : NULL;
        fprintf(out, "%s\n", line ? line : "{\"level\":\"ERROR\",\"msg\":\"out of memory\"}");
        cJSON_free(line);
        cJSON_Delete(o);
    } else {
        /* One message, one line: a newline or an escape sequence in a
         * server's text cannot forge a line or drive a terminal. */
        text_escape(shown, sizeof shown, clean, strlen(clean));
        fprintf(out, "%s %-7s %s\n", when, names[level], shown);
    }
    fflush(out);
    pthread_mutex_unlock(&L.lock);
    memset(raw, 0, sizeof raw);
}
