/*
 * pipe_limit.c: what the pipes allow. A bare C pool with the shape of ours and nothing else:
 * WORKERS forked workers, one pipe pair each, task frames of 8 + 16*CHUNK bytes (24 for one item:
 * length, item count, then two 8-byte integers per item), result frames of 8 + 8*CHUNK bytes (16
 * for one item), at most DEPTH chunks in flight per worker, results read with poll(2), several
 * frames per write(2) on both sides. The task is a + b. `poolmon-bench` builds this with the
 * system `cc` at run time and runs it beside our pool and CPython's.
 *
 * usage: pipe_limit ITEMS CHUNK WORKERS DEPTH
 * prints: result value=<tasks/s> seconds=<s>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

static void worker(int in, int out) {
    size_t cap = 1 << 20, have = 0;
    char *buf = malloc(cap), *res = malloc(cap);
    for (;;) {
        if (have == cap) {  /* a frame bigger than the buffer: grow both */
            cap *= 2;
            buf = realloc(buf, cap);
            res = realloc(res, cap);
            if (!buf || !res) _exit(3);
        }
        ssize_t r = read(in, buf + have, cap - have);
        if (r == 0) _exit(0);
        if (r < 0) { if (errno == EINTR) continue; _exit(1); }
        have += (size_t)r;
        size_t at = 0, rn = 0;
        while (have - at >= 8) {
            uint32_t len, count;
            memcpy(&len, buf + at, 4);
            if (have - at < len) break;
            memcpy(&count, buf + at + 4, 4);
            uint32_t rlen = 8 + 8 * count;
            memcpy(res + rn, &rlen, 4);
            memcpy(res + rn + 4, &count, 4);
            for (uint32_t k = 0; k < count; k++) {
                int64_t a, b, s;
                memcpy(&a, buf + at + 8 + 16 * k, 8);
                memcpy(&b, buf + at + 16 + 16 * k, 8);
                s = a + b;
                memcpy(res + rn + 8 + 8 * k, &s, 8);
            }
            rn += rlen;
            at += len;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
        if (rn && write_all(out, res, rn) < 0) _exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: pipe_limit ITEMS CHUNK WORKERS DEPTH\n"); return 64; }
    long n = atol(argv[1]), chunk = atol(argv[2]);
    int workers = atoi(argv[3]), depth = atoi(argv[4]);
    if (n < 1 || chunk < 1 || workers < 1 || workers > MAXW || depth < 1) return 64;
    signal(SIGPIPE, SIG_IGN);
    int task[MAXW], result[MAXW];
    pid_t pids[MAXW];
    for (int w = 0; w < workers; w++) {
        int t[2], r[2];
        if (pipe2(t, O_CLOEXEC) || pipe2(r, O_CLOEXEC)) { perror("pipe"); return 71; }
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 71; }
        if (pid == 0) {
            for (int k = 0; k < w; k++) { close(task[k]); close(result[k]); }
            close(t[1]); close(r[0]);
            worker(t[0], r[1]);
        }
        close(t[0]); close(r[1]);
        task[w] = t[1]; result[w] = r[0];
        pids[w] = pid;
    }
    long inflight[MAXW] = {0};
    size_t rhave[MAXW] = {0};
    size_t rcap = 2 * (8 + 8 * (size_t)chunk) + (1 << 20);
    char *rbuf[MAXW];
    for (int w = 0; w < workers; w++) rbuf[w] = malloc(rcap);
    char *wbuf = malloc((size_t)depth * (8 + 16 * chunk));
    long next = 0, done = 0;
    __int128 total = 0;
    struct pollfd fds[MAXW];
    double start = now();
    while (done < n) {
        for (int w = 0; w < workers; w++) {
            size_t wn = 0;
            while (inflight[w] < depth && next < n) {
                uint32_t count = (uint32_t)(n - next < chunk ? n - next : chunk);
                uint32_t len = 8 + 16 * count;
                memcpy(wbuf + wn, &len, 4);
                memcpy(wbuf + wn + 4, &count, 4);
                for (uint32_t k = 0; k < count; k++) {
                    int64_t a = next + k, b = next + k + 1;
                    memcpy(wbuf + wn + 8 + 16 * k, &a, 8);
                    memcpy(wbuf + wn + 16 + 16 * k, &b, 8);
                }
                wn += len;
                next += count;
                inflight[w]++;
            }
            if (wn && write_all(task[w], wbuf, wn) < 0) { perror("write"); return 74; }
        }
        for (int w = 0; w < workers; w++) { fds[w].fd = result[w]; fds[w].events = POLLIN; fds[w].revents = 0; }
        if (poll(fds, workers, -1) < 0) { if (errno == EINTR) continue; perror("poll"); return 71; }
        for (int w = 0; w < workers; w++) {
            if (!fds[w].revents) continue;
            ssize_t r = read(result[w], rbuf[w] + rhave[w], rcap - rhave[w]);
            if (r <= 0) { fprintf(stderr, "worker %d gone\n", w); return 70; }
            rhave[w] += (size_t)r;
            size_t at = 0;
            while (rhave[w] - at >= 8) {
                uint32_t len, count;
                memcpy(&len, rbuf[w] + at, 4);
                if (rhave[w] - at < len) break;
                memcpy(&count, rbuf[w] + at + 4, 4);
                for (uint32_t k = 0; k < count; k++) {
                    int64_t s;
                    memcpy(&s, rbuf[w] + at + 8 + 8 * k, 8);
                    total += s;
                }
                done += count;
                inflight[w]--;
                at += len;
            }
            memmove(rbuf[w], rbuf[w] + at, rhave[w] - at);
            rhave[w] -= at;
        }
    }
    double seconds = now() - start;
    for (int w = 0; w < workers; w++) { close(task[w]); close(result[w]); }
    for (int w = 0; w < workers; w++) waitpid(pids[w], NULL, 0);
    if (total != (__int128)n * n) { fprintf(stderr, "wrong sum\n"); return 70; }
    printf("result value=%.1f seconds=%.6f\n", n / seconds, seconds);
    return 0;
}
