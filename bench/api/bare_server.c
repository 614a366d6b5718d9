/*
 * bare_server.c - the yardstick of bench/api: an evhttp server shaped like
 * `videoflix serve` (N threads, each with its own event_base and evhttp
 * accepting on a dup() of one listening socket) that answers every request
 * with the bytes of one file read at start, from memory, without copying.
 * No routing, authentication, database or logging: what is left is the cost
 * of HTTP itself on this machine.
 *
 *   bare_server PORT THREADS BODY_FILE [nodelay]
 *
 * "nodelay" sets TCP_NODELAY on the listening socket (accepted sockets
 * inherit it), for comparing with a server that does the same.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *body;
static size_t body_len;

static void answer(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add_reference(out, body, body_len, NULL, NULL) != 0) {
        evhttp_send_error(req, 500, NULL);
        if (out)
            evbuffer_free(out);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void *run(void *arg)
{
    event_base_dispatch(arg);
    return NULL;
}

static int read_body(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int ok = fseek(f, 0, SEEK_END) == 0;
    long n = ok ? ftell(f) : -1;
    ok = n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (body = malloc((size_t)n + 1)) != NULL &&
         fread(body, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    body_len = ok ? (size_t)n : 0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "nodelay") == 0)) {
        fprintf(stderr, "usage: %s PORT THREADS BODY_FILE [nodelay]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), nthreads = atoi(argv[2]);
    if (port <= 0 || nthreads <= 0 || read_body(argv[3]) != 0) {
        fprintf(stderr, "bare_server: bad arguments or unreadable %s\n", argv[3]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0)
        return 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (argc == 5 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1024) != 0) {
        perror("bare_server: listen");
        return 1;
    }
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    if (!tids)
        return 1;
    for (int i = 0; i < nthreads; i++) {
        struct event_base *base = event_base_new();
        struct evhttp *http = base ? evhttp_new(base) : NULL;
        int tfd = dup(fd);
        if (!http || tfd < 0 || !evhttp_accept_socket_with_handle(http, tfd)) {
            fprintf(stderr, "bare_server: cannot set up thread %d\n", i);
            return 1;
        }
        evhttp_set_gencb(http, answer, NULL);
        if (pthread_create(&tids[i], NULL, run, base) != 0)
            return 1;
    }
    fprintf(stderr, "bare_server: %zu bytes on 127.0.0.1:%d with %d threads\n", body_len, port, nthreads);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    return 0;
}
