#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "deadline.h"
#include "harness.h"

extern char **environ;

/* execv wants char *const[]; copy the pointers rather than cast const away. */
static void exec_args(const char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **copy = calloc(n + 1, sizeof *copy);
    if (!copy)
        _exit(127);
    memcpy(copy, argv, n * sizeof *copy);
    execv(copy[0], copy);
    _exit(127);
}

/* In a child: set the NAME=VALUE entries of env (NULL-terminated; may be NULL). */
static void set_env(const char *const *env)
{
    for (int i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
        setenv(name, eq + 1, 1);
    }
}

void remove_dir(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

size_t count_lines_with(const char *text, const char *needle)
{
    size_t count = 0;
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && (size_t)(hit - line) < len)
            count++;
        line = nl ? nl + 1 : NULL;
    }
    return count;
}

int replay_start(replay_proc *rp, const char *exe, const char *data_dir, const char *const *extra)
{
    memset(rp, 0, sizeof *rp);
    snprintf(rp->dir, sizeof rp->dir, "%s/replay.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(rp->dir))
        return -1;
    char port_file[300];
    snprintf(port_file, sizeof port_file, "%s/port", rp->dir);
    snprintf(rp->log_path, sizeof rp->log_path, "%s/requests.log", rp->dir);

    const char *argv[64];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--data";
    argv[n++] = data_dir;
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    argv[n++] = "--request-log";
    argv[n++] = rp->log_path;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        exec_args(argv);
    }
    rp->pid = pid;
    for (int i = 0; i < 1200; i++) { /* up to 60 s: sanitizers, big data sets */
        char *text = read_file(port_file, NULL);
        if (text) {
            rp->port = (unsigned)atoi(text);
            free(text);
            snprintf(rp->base, sizeof rp->base, "http://127.0.0.1:%u", rp->port);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            rp->pid = 0;
            return -1;
        }
        sleep_ms(50);
    }
    replay_stop(rp);
    return -1;
}

void replay_stop(replay_proc *rp)
{
    if (rp->pid > 0) {
        kill(rp->pid, SIGTERM);
        int status;
        waitpid(rp->pid, &status, 0);
        rp->pid = 0;
    }
    if (rp->dir[0]) {
        remove_dir(rp->dir);
        rp->dir[0] = '\0';
    }
}

int run_capture(const char *const *argv, const char *const *env, char **out)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        set_env(env);
        exec_args(argv);
    }
    close(pipefd[1]);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n + 1 >= cap) {
            char *p = realloc(buf, cap * 2);
            if (!p)
                break;
            buf = p;
            cap *= 2;
        }
        ssize_t got = read(pipefd[0], buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(pipefd[0]);
    if (buf)
        buf[n] = '\0';
    *out = buf;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

pid_t spawn_logged(const char *const *argv, const char *const *env, const char *out_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        _exit(127);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    set_env(env);
    exec_args(argv);
    return -1; /* not reached */
}

int wait_exit(pid_t pid, long timeout_ms)
{
    for (long waited = 0;; waited += 20) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got < 0 && errno == EINTR)
            continue;
        if (got == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        if (got < 0 || waited >= timeout_ms)
            return -1;
        sleep_ms(20);
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    fetch_result *r = ud;
    size_t n = size * nmemb;
    char *p = realloc(r->body, r->len + n + 1);
    if (!p)
        return 0;
    r->body = p;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    fetch_result *r = ud;
    size_t n = size * nitems;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)(n - 12), data + 12);
        char *p = r->retry_after;
        while (*p == ' ')
            memmove(p, p + 1, strlen(p));
        p[strcspn(p, "\r\n")] = '\0';
    }
    return n;
}

int fetch(fetch_result *r, const char *url, const char *key)
{
    memset(r, 0, sizeof *r);
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    struct curl_slist *hdr = NULL;
    char auth[256];
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    r->curl_code = (int)curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return 0;
}

void fetch_free(fetch_result *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
