/*
 * polygon-replay: a local stand-in for the Polygon aggregates API, serving
 * bars from CSV files with Polygon's shapes, pagination, authentication,
 * rate limit and error bodies, plus seeded fault injection and a request log.
 * The ingestor's tests, demo and benchmark run against it, with no internet.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <limits.h>

#include "server.h"
#include "store.h"

static void usage(FILE *out)
{
    fputs("usage: polygon-replay --data DIR [options]\n"
          "\n"
          "Serve GET /v2/aggs/ticker/{T}/range/{mult}/{timespan}/{from}/{to} from the CSV\n"
          "files in DIR, as the Polygon aggregates API does.\n"
          "\n"
          "  --data DIR              CSV files to serve (symbol from a symbol column or\n"
          "                          the file name up to its first '-', '_' or '.'; each\n"
          "                          name says 'raw' or 'adjusted', e.g. AAPL-raw-daily.csv)\n"
          "  --splits FILE           the splits (CSV: ticker,execution_date,split_from,\n"
          "                          split_to; default DIR/reference/splits.csv if present)\n"
          "  --bind ADDR             address to listen on (default 127.0.0.1)\n"
          "  --port N                port (default 0: any free port)\n"
          "  --port-file FILE        write the chosen port to FILE once listening\n"
          "  --api-key KEY           the one accepted key (default: the environment's\n"
          "                          POLYGON_REPLAY_API_KEY, else any non-empty key);\n"
          "                          other users can read it in the process list\n"
          "  --api-key-file FILE     the key from FILE (one trailing newline removed):\n"
          "                          not shown in the process list\n"
          "  --public-url URL        base of next_url (default http://ADDR:PORT)\n"
          "  --rate-limit-per-min N  answer 429 beyond N requests per window (0: off)\n"
          "  --rate-window-ms MS     the window of the rate limit (default 60000)\n"
          "  --retry-after auto|N    send Retry-After with 429s: the computed wait, or N s\n"
          "  --faults LIST           comma-separated: 500,502,503,504,429,delay,truncate,\n"
          "                          malformed,drop\n"
          "  --fault-rate P          probability that a request gets one of the faults\n"
          "  --fault-every N         instead: every N-th request gets the next fault\n"
          "  --fault-skip N          the first N requests get no fault\n"
          "  --seed N                seed of the fault and request-id generator (default 1)\n"
          "  --delay-ms MS           the delay of the 'delay' fault (default 2000)\n"
          "  --request-log FILE      one JSON line per request (path without the key)\n"
          "  -h, --help              this text\n"
          "  --version               the version\n",
          out);
}

static int parse_faults(const char *list, replay_config *cfg)
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    char *save = NULL;
    cfg->nfaults = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum fault f;
        if (!fault_parse(t, &f) || cfg->nfaults == FAULT_COUNT) {
            fprintf(stderr, "polygon-replay: unknown fault '%s'\n", t);
            free(copy);
            return -1;
        }
        cfg->faults[cfg->nfaults++] = f;
    }
    free(copy);
    return 0;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* libmicrohttpd's error log, minus the lines that report the connections the
 * fault injection cuts on purpose (truncated bodies, dropped connections):
 * those are what the server was asked to do, not errors. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    if (strstr(line, "application reported") || strstr(line, "Application reported"))
        return;
    fprintf(stderr, "polygon-replay: %s%s", line,
            line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
}

/* The key of --api-key-file: the file's text without one trailing newline;
 * one token (no blank, no control character), at most size - 1 bytes. */
static int read_key_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "polygon-replay: --api-key-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || n == size) {
        fprintf(stderr, "polygon-replay: --api-key-file %s: %s\n", path,
                err ? "cannot be read" : "too long for a key");
        return -1;
    }
    if (n && out[n - 1] == '\n')
        n--;
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    bool ok = n > 0;
    for (size_t i = 0; i < n; i++)
        ok &= (unsigned char)out[i] > ' ' && out[i] != 0x7f;
    if (!ok) {
        fprintf(stderr,
                "polygon-replay: --api-key-file %s: not one token (empty, or a blank or "
                "control character inside)\n",
                path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_DATA = 256,
        O_BIND,
        O_PORT,
        O_PORT_FILE,
        O_KEY,
        O_PUBLIC,
        O_RATE,
        O_WINDOW,
        O_RETRY_AFTER,
        O_FAULTS,
        O_RATE_F,
        O_EVERY,
        O_SKIP,
        O_SEED,
        O_DELAY,
        O_LOG,
        O_VERSION,
        O_KEY_FILE,
        O_SPLITS
    };
    static const struct option opts[] = {
        { "data", required_argument, NULL, O_DATA },
        { "bind", required_argument, NULL, O_BIND },
        { "port", required_argument, NULL, O_PORT },
        { "port-file", required_argument, NULL, O_PORT_FILE },
        { "api-key", required_argument, NULL, O_KEY },
        { "public-url", required_argument, NULL, O_PUBLIC },
        { "rate-limit-per-min", required_argument, NULL, O_RATE },
        { "rate-window-ms", required_argument, NULL, O_WINDOW },
        { "retry-after", required_argument, NULL, O_RETRY_AFTER },
        { "faults", required_argument, NULL, O_FAULTS },
        { "fault-rate", required_argument, NULL, O_RATE_F },
        { "fault-every", required_argument, NULL, O_EVERY },
        { "fault-skip", required_argument, NULL, O_SKIP },
        { "seed", required_argument, NULL, O_SEED },
        { "delay-ms", required_argument, NULL, O_DELAY },
        { "request-log", required_argument, NULL, O_LOG },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, O_VERSION },
        { "api-key-file", required_argument, NULL, O_KEY_FILE },
        { "splits", required_argument, NULL, O_SPLITS },
        { NULL, 0, NULL, 0 },
    };
    replay_config cfg = {
        .rate_window_ms = 60000, .retry_after_s = -1, .seed = 1, .delay_ms = 2000
    };
    const char *data = NULL, *bind_addr = "127.0.0.1", *port_file = NULL, *log_path = NULL;
    const char *public_url = NULL, *splits_path = NULL;
    long port = 0, v;
    char key_buf[1024];
    int key_given = 0;
    cfg.api_key = getenv("POLYGON_REPLAY_API_KEY");
    if (cfg.api_key && !*cfg.api_key)
        cfg.api_key = NULL;

    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA:
            data = optarg;
            break;
        case O_BIND:
            bind_addr = optarg;
            break;
        case O_PORT:
            if (!parse_long(optarg, 0, 65535, &port))
                goto bad;
            break;
        case O_PORT_FILE:
            port_file = optarg;
            break;
        case O_KEY:
            cfg.api_key = optarg;
            key_given++;
            break;
        case O_KEY_FILE:
            if (read_key_file(optarg, key_buf, sizeof key_buf) != 0)
                return EX_USAGE;
            cfg.api_key = key_buf;
            key_given++;
            break;
        case O_PUBLIC:
            public_url = optarg;
            break;
        case O_RATE:
            if (!parse_long(optarg, 0, 1000000, &v))
                goto bad;
            cfg.rate_limit_per_min = (int)v;
            break;
        case O_WINDOW:
            if (!parse_long(optarg, 1, 86400000, &v))
                goto bad;
            cfg.rate_window_ms = v;
            break;
        case O_RETRY_AFTER:
            if (strcmp(optarg, "auto") == 0)
                cfg.retry_after_s = 0;
            else if (parse_long(optarg, 1, 86400, &v))
                cfg.retry_after_s = (int)v;
            else
                goto bad;
            break;
        case O_FAULTS:
            if (parse_faults(optarg, &cfg) != 0)
                return EX_USAGE;
            break;
        case O_RATE_F: {
            char *end;
            cfg.fault_rate = strtod(optarg, &end);
            if (*end || !(cfg.fault_rate >= 0 && cfg.fault_rate <= 1))
                goto bad;
            break;
        }
        case O_EVERY:
            if (!parse_long(optarg, 1, 1000000, &v))
                goto bad;
            cfg.fault_every = (int)v;
            break;
        case O_SKIP:
            if (!parse_long(optarg, 0, 1000000000, &v))
                goto bad;
            cfg.fault_skip = (int)v;
            break;
        case O_SEED:
            if (!parse_long(optarg, 0, LONG_MAX, &v))
                goto bad;
            cfg.seed = (uint64_t)v;
            break;
        case O_DELAY:
            if (!parse_long(optarg, 0, 600000, &v))
                goto bad;
            cfg.delay_ms = (int)v;
            break;
        case O_LOG:
            log_path = optarg;
            break;
        case O_SPLITS:
            splits_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EX_OK;
        case O_VERSION:
            puts("polygon-replay " INGESTKIT_VERSION);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
        continue;
    bad:
        fprintf(stderr, "polygon-replay: bad value '%s' for --%s\n", optarg, opts[c - O_DATA].name);
        return EX_USAGE;
    }
    if (key_given > 1) {
        fprintf(stderr, "polygon-replay: --api-key and --api-key-file exclude each other\n");
        return EX_USAGE;
    }
    if (!data || optind != argc) {
        usage(stderr);
        return EX_USAGE;
    }

    store st;
    char err[512];
    char default_splits[4096];
    snprintf(default_splits, sizeof default_splits, "%s/reference/splits.csv", data);
    if (!splits_path && access(default_splits, F_OK) == 0)
        splits_path = default_splits;
    if (store_load_dir(&st, data, splits_path, err, sizeof err) != 0) {
        fprintf(stderr, "polygon-replay: %s\n", err);
        return EX_DATAERR;
    }

    FILE *log = NULL;
    if (log_path) {
        log = strcmp(log_path, "-") == 0 ? stderr : fopen(log_path, "a");
        if (!log) {
            fprintf(stderr, "polygon-replay: %s: %s\n", log_path, strerror(errno));
            store_free(&st);
            return EX_USAGE;
        }
    }

    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "polygon-replay: --bind wants an IPv4 address, not '%s'\n", bind_addr);
        store_free(&st);
        return EX_USAGE;
    }

    /* Handle SIGINT/SIGTERM synchronously below; block them before any
     * thread exists so that every thread inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    replay_server srv;
    if (replay_server_init(&srv, &cfg, &st, log) != 0) {
        fprintf(stderr, "polygon-replay: out of memory\n");
        store_free(&st);
        return EX_UNAVAILABLE;
    }
    /* Listen first, so that the base of next_url is known before any
     * connection thread could read it. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t alen = sizeof addr;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "polygon-replay: cannot listen on %s:%ld: %s\n", bind_addr, port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        replay_server_destroy(&srv);
        store_free(&st);
        return EX_UNAVAILABLE;
    }
    unsigned bound = ntohs(addr.sin_port);
    char base[256];
    if (public_url)
        snprintf(base, sizeof base, "%s", public_url);
    else
        snprintf(base, sizeof base, "http://%s:%u", bind_addr, bound);
    srv.cfg.public_base = base;

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, replay_handle, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "polygon-replay: cannot serve on %s:%u\n", bind_addr, bound);
        close(fd);
        replay_server_destroy(&srv);
        store_free(&st);
        return EX_UNAVAILABLE;
    }

    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", bound) < 0 || fclose(f) != 0 || rename(tmp, port_file)) {
            fprintf(stderr, "polygon-replay: cannot write %s\n", port_file);
            MHD_stop_daemon(d);
            replay_server_destroy(&srv);
            store_free(&st);
            return EX_UNAVAILABLE;
        }
    }
    printf("polygon-replay: %zu bars of %zu symbols on %s\n", st.total_bars, st.count, base);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);

    MHD_stop_daemon(d);
    replay_server_destroy(&srv);
    store_free(&st);
    if (log && log != stderr)
        fclose(log);
    return EX_OK;
}
